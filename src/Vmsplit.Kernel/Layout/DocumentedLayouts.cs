using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;

namespace Vmsplit.Kernel.Layout;

/// <summary>One row of a Linux documentation table: [Start, Last] inclusive, as the tables print them.</summary>
public readonly record struct DocumentedRow(ulong Start, ulong Last, string Name, RegionKind Kind, string Purpose)
{
    public ulong Size => Last - Start + 1;
}

/// <summary>
/// The 64-bit layouts as Linux documents them: x86-64 (Documentation/arch/x86/x86_64/mm.rst), RISC-V
/// (Documentation/arch/riscv/vm-layout.rst) and arm64 (Documentation/arch/arm64/memory.rst, and the memory.h
/// formulas behind it for 39-bit VAs).
/// </summary>
public static class DocumentedLayouts
{
    /// <summary>x86-64 fixmap start is configuration-dependent ("~0.5 MB"); Vmsplit uses exactly 0.5 MiB below the vsyscall page.</summary>
    public const ulong X86_64FixaddrStart = 0xffffffffff580000;

    private static readonly DocumentedRow[] s_x86Top =
    [
        new(0xfffffc0000000000, 0xfffffdffffffffff, "hole", RegionKind.Hole, "unused hole; vaddr_end for KASLR"),
        new(0xfffffe0000000000, 0xfffffe7fffffffff, "cpu_entry_area", RegionKind.Trampoline, "cpu_entry_area mapping"),
        new(0xfffffe8000000000, 0xfffffeffffffffff, "hole", RegionKind.Hole, "unused hole"),
        new(0xffffff0000000000, 0xffffff7fffffffff, "espfix", RegionKind.Metadata, "%esp fixup stacks"),
        new(0xffffff8000000000, 0xffffffeeffffffff, "hole", RegionKind.Hole, "unused hole"),
        new(0xffffffef00000000, 0xfffffffeffffffff, "efi", RegionKind.Io, "EFI region mapping space"),
        new(0xffffffff00000000, 0xffffffff7fffffff, "hole", RegionKind.Hole, "unused hole"),
        new(0xffffffff80000000, 0xffffffff9fffffff, "kernel", RegionKind.KernelImage, "kernel text mapping, mapped to physical address 0"),
        new(0xffffffffa0000000, 0xfffffffffeffffff, "modules", RegionKind.Modules, "module mapping space"),
        new(0xffffffffff000000, X86_64FixaddrStart - 1, "hole", RegionKind.Hole, "unused (fixmap grows down into it)"),
        new(X86_64FixaddrStart, 0xffffffffff5fffff, "fixmap", RegionKind.Fixmap, "fixmap (variable size; FIXADDR_START depends on the configuration)"),
        new(0xffffffffff600000, 0xffffffffff600fff, "vsyscall", RegionKind.Vectors, "legacy vsyscall ABI"),
        new(0xffffffffff601000, 0xffffffffffdfffff, "hole", RegionKind.Hole, "unused"),
        new(0xffffffffffe00000, 0xffffffffffffffff, "hole", RegionKind.Hole, "unused hole"),
    ];

    public static readonly DocumentedRow[] X86_64 =
    [
        new(0x0000000000000000, 0x00007fffffffffff, "user", RegionKind.User, "user-space virtual memory, different per mm"),
        new(0x0000800000000000, 0xffff7fffffffffff, "non-canonical", RegionKind.Hole, "huge, almost 64 bits wide hole of non-canonical addresses"),
        new(0xffff800000000000, 0xffff87ffffffffff, "guard", RegionKind.Guard, "guard hole, also reserved for hypervisor"),
        new(0xffff880000000000, 0xffff887fffffffff, "ldt", RegionKind.Metadata, "LDT remap for PTI"),
        new(0xffff888000000000, 0xffffc87fffffffff, "lowmem", RegionKind.Lowmem, "direct mapping of all physical memory (page_offset_base)"),
        new(0xffffc88000000000, 0xffffc8ffffffffff, "hole", RegionKind.Hole, "unused hole"),
        new(0xffffc90000000000, 0xffffe8ffffffffff, "vmalloc", RegionKind.Vmalloc, "vmalloc/ioremap space (vmalloc_base)"),
        new(0xffffe90000000000, 0xffffe9ffffffffff, "hole", RegionKind.Hole, "unused hole"),
        new(0xffffea0000000000, 0xffffeaffffffffff, "vmemmap", RegionKind.Metadata, "virtual memory map (vmemmap_base)"),
        new(0xffffeb0000000000, 0xffffebffffffffff, "hole", RegionKind.Hole, "unused hole"),
        new(0xffffec0000000000, 0xfffffbffffffffff, "kasan", RegionKind.Metadata, "KASAN shadow memory"),
        .. s_x86Top,
    ];

    public static readonly DocumentedRow[] X86_64La57 =
    [
        new(0x0000000000000000, 0x00ffffffffffffff, "user", RegionKind.User, "user-space virtual memory, different per mm"),
        new(0x0100000000000000, 0xfeffffffffffffff, "non-canonical", RegionKind.Hole, "huge, still almost 64 bits wide hole of non-canonical addresses"),
        new(0xff00000000000000, 0xff0fffffffffffff, "guard", RegionKind.Guard, "guard hole, also reserved for hypervisor"),
        new(0xff10000000000000, 0xff10ffffffffffff, "ldt", RegionKind.Metadata, "LDT remap for PTI"),
        new(0xff11000000000000, 0xff90ffffffffffff, "lowmem", RegionKind.Lowmem, "direct mapping of all physical memory (page_offset_base)"),
        new(0xff91000000000000, 0xff9fffffffffffff, "hole", RegionKind.Hole, "unused hole"),
        new(0xffa0000000000000, 0xffd1ffffffffffff, "vmalloc", RegionKind.Vmalloc, "vmalloc/ioremap space (vmalloc_base)"),
        new(0xffd2000000000000, 0xffd3ffffffffffff, "hole", RegionKind.Hole, "unused hole"),
        new(0xffd4000000000000, 0xffd5ffffffffffff, "vmemmap", RegionKind.Metadata, "virtual memory map (vmemmap_base)"),
        new(0xffd6000000000000, 0xffdeffffffffffff, "hole", RegionKind.Hole, "unused hole"),
        new(0xffdf000000000000, 0xfffffbffffffffff, "kasan", RegionKind.Metadata, "KASAN shadow memory"),
        .. s_x86Top,
    ];

    private static DocumentedRow[] Riscv(ulong userLast, ulong nonCanonicalLast, ulong fixmap, ulong vmemmap, ulong vmemmapLast, ulong vmallocLast, ulong directLast, ulong kasan)
    {
        List<DocumentedRow> rows =
        [
            new(0, userLast, "user", RegionKind.User, "user-space virtual memory, different per mm"),
            new(userLast + 1, nonCanonicalLast, "non-canonical", RegionKind.Hole, "huge, almost 64 bits wide hole of non-canonical addresses"),
        ];
        if (nonCanonicalLast + 1 < fixmap)
        {
            rows.Add(new(nonCanonicalLast + 1, fixmap - 1, "hole", RegionKind.Hole, "unused (kernel-space, below the fixmap)"));
        }

        rows.Add(new(fixmap, fixmap + 6 * ByteSize.MiB - 1, "fixmap", RegionKind.Fixmap, "fixmap"));
        rows.Add(new(fixmap + 6 * ByteSize.MiB, vmemmap - 1, "pci-io", RegionKind.Io, "PCI io"));
        rows.Add(new(vmemmap, vmemmapLast, "vmemmap", RegionKind.Metadata, "vmemmap"));
        rows.Add(new(vmemmapLast + 1, vmallocLast, "vmalloc", RegionKind.Vmalloc, "vmalloc/ioremap space"));
        rows.Add(new(vmallocLast + 1, directLast, "lowmem", RegionKind.Lowmem, "direct mapping of all physical memory"));
        if (directLast + 1 < kasan)
        {
            rows.Add(new(directLast + 1, kasan - 1, "hole", RegionKind.Hole, "unused"));
        }

        rows.Add(new(kasan, 0xfffffffeffffffff, "kasan", RegionKind.Metadata, "kasan"));
        rows.Add(new(0xffffffff00000000, 0xffffffff7fffffff, "modules", RegionKind.Modules, "modules, BPF"));
        rows.Add(new(0xffffffff80000000, 0xffffffffffffffff, "kernel", RegionKind.KernelImage, "kernel (image mapped outside the linear map since 5.13)"));
        return [.. rows];
    }

    public static readonly DocumentedRow[] RiscvSv39 = Riscv(0x0000003fffffffff, 0xffffffbfffffffff, 0xffffffc4fea00000, 0xffffffc500000000, 0xffffffc5ffffffff, 0xffffffd5ffffffff, 0xfffffff5ffffffff, 0xfffffff700000000);

    public static readonly DocumentedRow[] RiscvSv48 = Riscv(0x00007fffffffffff, 0xffff7fffffffffff, 0xffff8d7ffea00000, 0xffff8d8000000000, 0xffff8f7fffffffff, 0xffffaf7fffffffff, 0xffffef7fffffffff, 0xffffef8000000000);

    public static readonly DocumentedRow[] RiscvSv57 = Riscv(0x00ffffffffffffff, 0xfeffffffffffffff, 0xff1bfffffea00000, 0xff1c000000000000, 0xff1fffffffffffff, 0xff5fffffffffffff, 0xffdeffffffffffff, 0xffdf000000000000);

    /// <summary>arm64 4K/48-bit before the 6.9 VA-space reorganisation (fixmap and PCI I/O below vmemmap).</summary>
    public static readonly DocumentedRow[] Arm64Va48Before69 =
    [
        new(0x0000000000000000, 0x0000ffffffffffff, "user", RegionKind.User, "user (TTBR0)"),
        new(0x0001000000000000, 0xfffeffffffffffff, "non-canonical", RegionKind.Hole, "neither TTBR0 nor TTBR1 translates these"),
        new(0xffff000000000000, 0xffff7fffffffffff, "lowmem", RegionKind.Lowmem, "kernel logical memory map"),
        new(0xffff800000000000, 0xffff80007fffffff, "modules", RegionKind.Modules, "modules"),
        new(0xffff800080000000, 0xfffffbffefffffff, "vmalloc", RegionKind.Vmalloc, "vmalloc (kernel image mapped here, KIMAGE_VADDR)"),
        new(0xfffffbfff0000000, 0xfffffbfffdffffff, "fixmap", RegionKind.Fixmap, "fixed mappings (top down)"),
        new(0xfffffbfffe000000, 0xfffffbfffe7fffff, "guard", RegionKind.Guard, "[guard region]"),
        new(0xfffffbfffe800000, 0xfffffbffff7fffff, "pci-io", RegionKind.Io, "PCI I/O space"),
        new(0xfffffbffff800000, 0xfffffbffffffffff, "guard", RegionKind.Guard, "[guard region]"),
        new(0xfffffc0000000000, 0xfffffdffffffffff, "vmemmap", RegionKind.Metadata, "vmemmap"),
        new(0xfffffe0000000000, 0xffffffffffffffff, "guard", RegionKind.Guard, "[guard region]"),
    ];

    /// <summary>
    /// arm64 4K pages, 6.9+ (Ard Biesheuvel's "arm64: Reorganize kernel VA space"), from arch/arm64/include/asm/memory.h:
    /// PAGE_OFFSET = -2^VA, PAGE_END = -2^(VA-1), modules 2 GiB, vmemmap sized for the linear map with a 64-byte
    /// struct page and ending at -1 GiB, then PCI I/O and the fixmap below FIXADDR_TOP = -8 MiB.
    /// </summary>
    public static DocumentedRow[] Arm64(int vaBits)
    {
        ulong pageOffset = unchecked(0UL - (1UL << vaBits));
        ulong pageEnd = unchecked(0UL - (1UL << (vaBits - 1)));
        ulong modulesEnd = pageEnd + 2 * ByteSize.GiB;
        ulong vmemmapSize = ((pageEnd - pageOffset) >> 12) * 64;
        ulong vmemmapEnd = unchecked(0UL - ByteSize.GiB);
        ulong vmemmapStart = vmemmapEnd - vmemmapSize;
        ulong pciStart = vmemmapEnd + 8 * ByteSize.MiB;
        ulong fixTop = unchecked(0UL - (8 * ByteSize.MiB));
        return
        [
            new(0, (1UL << vaBits) - 1, "user", RegionKind.User, "user (TTBR0)"),
            new(1UL << vaBits, pageOffset - 1, "non-canonical", RegionKind.Hole, "neither TTBR0 nor TTBR1 translates these"),
            new(pageOffset, pageEnd - 1, "lowmem", RegionKind.Lowmem, "kernel logical memory map"),
            new(pageEnd, modulesEnd - 1, "modules", RegionKind.Modules, "modules"),
            new(modulesEnd, vmemmapStart - 8 * ByteSize.MiB - 1, "vmalloc", RegionKind.Vmalloc, "vmalloc (kernel image mapped here, KIMAGE_VADDR)"),
            new(vmemmapStart - 8 * ByteSize.MiB, vmemmapStart - 1, "guard", RegionKind.Guard, "[guard]"),
            new(vmemmapStart, vmemmapEnd - 1, "vmemmap", RegionKind.Metadata, "vmemmap"),
            new(vmemmapEnd, pciStart - 1, "guard", RegionKind.Guard, "[guard]"),
            new(pciStart, pciStart + 16 * ByteSize.MiB - 1, "pci-io", RegionKind.Io, "PCI I/O"),
            new(pciStart + 16 * ByteSize.MiB, fixTop - 1, "fixmap", RegionKind.Fixmap, "fixed mappings (top down)"),
            new(fixTop, ulong.MaxValue, "guard", RegionKind.Guard, "[guard]"),
        ];
    }

    public static DocumentedRow[] For(KernelArch arch, int vaBits, LinuxVersion linux) => arch switch
    {
        KernelArch.X86_64 => X86_64,
        KernelArch.X86_64La57 => X86_64La57,
        KernelArch.RiscvSv39 => RiscvSv39,
        KernelArch.RiscvSv48 => RiscvSv48,
        KernelArch.RiscvSv57 => RiscvSv57,
        KernelArch.Aarch64 when vaBits == 48 && linux < new LinuxVersion(6, 9) => Arm64Va48Before69,
        KernelArch.Aarch64 when vaBits is 39 or 48 => Arm64(vaBits),
        KernelArch.Aarch64 => throw new LayoutException(LayoutErrorKind.BadOption, $"--va-bits {vaBits}: Vmsplit models arm64 4K pages with 39 or 48 VA bits"),
        KernelArch.RiscvSv32 => throw new LayoutException(LayoutErrorKind.BadOption, "riscv-sv32: Linux documents no Sv32 layout (Documentation/arch/riscv/vm-layout.rst says TODO)"),
        _ => throw new ArgumentOutOfRangeException(nameof(arch)),
    };

    internal static void Build(KernelLayout l)
    {
        KernelConfig c = l.Config;
        if (c.Design is LayoutDesign.FourGFourG or LayoutDesign.X86FourGFourG)
        {
            throw new LayoutException(LayoutErrorKind.Conflict, $"design {KernelConfig.DesignName(c.Design)} is a 32-bit design; {l.Arch.Name()} has room for the whole of RAM in its direct map");
        }

        DocumentedRow[] rows = For(l.Arch, c.VaBits, c.Linux);
        bool arm64 = l.Arch == KernelArch.Aarch64;
        bool riscv = l.Arch.Family() == ArchFamily.Riscv;
        string kernelRoot = arm64 ? "TTBR1" : riscv ? "satp" : "CR3";
        string userRoot = arm64 ? "TTBR0" : kernelRoot;
        foreach (DocumentedRow r in rows)
        {
            string root = r.Kind == RegionKind.User ? userRoot : r.Name == "non-canonical" ? "-" : kernelRoot;
            l.Add(r.Name, r.Start, r.Size, r.Kind, r.Purpose, root);
            switch (r.Name)
            {
                case "user":
                    l.TaskSize = r.Last + 1;
                    break;
                case "lowmem":
                    l.PageOffset = r.Start;
                    l.HighMemory = r.Last + 1;
                    break;
                case "vmalloc":
                    l.VmallocStart = r.Start;
                    l.VmallocEnd = r.Last + 1;
                    break;
                case "modules":
                    l.ModulesVaddr = r.Start;
                    l.ModulesEnd = r.Last + 1;
                    break;
                case "fixmap":
                    l.FixaddrStart = r.Start;
                    l.FixaddrEnd = r.Last + 1;
                    break;
                case "non-canonical":
                    l.KernelRootStart = r.Last + 1;
                    break;
                default:
                    break;
            }
        }

        l.RootSplit = arm64
            ? $"TTBR0 (user, bit 55 = 0) below {ByteSize.Hex(l.TaskSize)}; TTBR1 (swapper_pg_dir, global) from {ByteSize.Hex(l.KernelRootStart)}"
            : $"one root ({kernelRoot}); the top-level entries of the kernel half are shared by every process; canonical addresses sign-extend bit {System.Numerics.BitOperations.Log2(l.TaskSize)}";

        // The direct map covers all RAM that fits in it; PAGE_OFFSET maps physical address 0 (x86-64, RISC-V) or PHYS_OFFSET (arm64).
        Machine m = l.Machine;
        ulong directSize = l.HighMemory - l.PageOffset;
        ulong baseline = arm64 || riscv ? m.PhysOffset.Value : 0;
        l.LowmemBytes = m.RamBetween(baseline, baseline + directSize);
        l.IgnoredBytes = m.TotalRam - l.LowmemBytes;
        if (l.IgnoredBytes != 0)
        {
            l._notes.Add($"{ByteSize.Human(l.IgnoredBytes)} of RAM lies beyond the {ByteSize.Human(directSize)} direct map and is not used");
        }

        l.HighMemory = l.PageOffset + (m.EndOfDram.Value - baseline < directSize ? m.EndOfDram.Value - baseline : directSize);
        l.LowmemPhysLimit = m.EndOfDram.Value;
        ulong zoneDma32End = 1UL << 32;
        ulong dma32Start = 0;
        if (l.Arch is KernelArch.X86_64 or KernelArch.X86_64La57)
        {
            // ZONE_DMA is the ISA-reachable first 16 MiB on x86 (MAX_DMA_PFN).
            dma32Start = 16 * ByteSize.MiB;
            ArmLayout.AddZone(l, "DMA", m.RamBetween(0, dma32Start));
        }

        ArmLayout.AddZone(l, "DMA32", m.RamBetween(dma32Start, zoneDma32End));
        ArmLayout.AddZone(l, "Normal", m.RamBetween(zoneDma32End, ulong.MaxValue));

        // The image sits outside the direct map on all three (x86-64 __START_KERNEL_map, riscv since 5.13, arm64 in vmalloc),
        // so its RAM is mapped twice whatever the design.
        ulong image = l.ImageBytes;
        if (c.Image is null)
        {
            l._choices.Add($"kernel image {ByteSize.Human(image)} (default, Arnd Bergmann, July 2020; give --image for a real vmlinux)");
        }

        l.MappedTwiceBytes = image;
        if (riscv && c.Linux < new LinuxVersion(5, 13))
        {
            // "riscv: Move kernel mapping outside of linear mapping" (Alexandre Ghiti, v5.13; its LKML review thread, July 2020).
            l._notes.Add($"Linux {c.Linux} still mapped the RISC-V kernel image inside the linear map; the table shown is the documented (5.13+) layout");
        }
    }
}

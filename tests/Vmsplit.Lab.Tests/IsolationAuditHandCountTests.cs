using Vmsplit.Hardware;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// The isolation audit of every design on every architecture (2 GiB of RAM), against what each root loaded in
/// user mode maps, counted by hand from the layout and from what the kernel maps.
/// </summary>
public class IsolationAuditHandCountTests
{
    private const ulong K = 1024;
    private const ulong M = K * K;
    private const ulong G = M * K;

    // Arnd Bergmann's (July 2020) 4 MiB vmlinux: inside the linear map it adds nothing; mapped in the vmalloc area it adds 4 MiB
    private const ulong Image = 4 * M;

    // A 64-bit kernel's vmemmap: one 64-byte struct page per 4 KiB frame of the 2 GiB, in 2 MiB blocks (32 MiB)
    private const ulong Vmemmap = 2 * G / (4 * K) * 64;

    // ARM 3G/1G with highmem: VMALLOC_END 0xff800000 - 240 MiB vmalloc - 8 MiB VMALLOC_OFFSET = high_memory 0xf0000000,
    // so 768 MiB of the 2 GiB are lowmem; the vectors page and the stubs page at 0xffff0000
    private const ulong ArmLowmem = 0xf0000000 - 0xc0000000;
    private const ulong ArmVectors = 2 * 4 * K;

    // x86-32: MAXMEM = VMALLOC_END (PKMAP_BASE - 2 pages) - PAGE_OFFSET - 128 MiB __VMALLOC_RESERVE; FIXADDR_START
    // 0xfff38000 (199 permanent fixmap pages, X86FixmapTests); the 512 boot slots end at 0xffd38000 (2-level) or, aligned
    // not to cross a PTE table, 0xffbff000 (PAE); the cpu_entry_area PMD-aligned below: 0xffc00000 or 0xffa00000; the LDT
    // remap one PMD lower; PKMAP_BASE 0xff400000 (2-level) or 0xff600000 (PAE)
    private const ulong X86Lowmem = 0xff400000 - 0x2000 - 0xc0000000 - 128 * M;
    private const ulong PaeLowmem = 0xff600000 - 0x2000 - 0xc0000000 - 128 * M;

    // 4g4g on short descriptors: the process's table holds the vectors and stubs, the per-CPU save area at 0xffff2000 and,
    // for the strategies that switch TTBR0 to the user's table (ttbr0-switch, hybrid, trampoline), the bounce page at 0xffff3000
    private static ulong ArmShortTrampoline(DesignSpec d) =>
        ArmVectors + (4 * K) + (d.Uaccess is UaccessStrategy.Ttbr0Switch or UaccessStrategy.Hybrid or UaccessStrategy.Trampoline ? 4 * K : 0);

    // the one cpu_entry_area page the model maps; x86-4g4g's trampoline: entry page and entry area page at 0xff000000
    private const ulong CeaPage = 4 * K;
    private const ulong X86FourGTrampoline = 2 * 4 * K;

    // kpti on x86: the 2 MiB page holding __entry_text (cloned PMD) and the cpu_entry_area page
    private const ulong PtiExposed = 2 * M + CeaPage;

    // KAISER v1: 4 KiB pages of the per-CPU user-mapped section (9), __entry_text, the IDT, the GDT alias and the
    // audited process's kernel stack
    private const ulong KaiserExposed = (9 + 1 + 1 + 1 + 1) * 4 * K;

    // arm64 kpti: tramp_pg_dir maps the three pages of .entry.tramp.text at TRAMP_VALIAS, nothing else
    private const ulong TrampText = 3 * 4 * K;

    public static IEnumerable<(MachineSpec Machine, DesignSpec Design)> Combinations()
    {
        foreach ((MachineSpec m, DesignSpec d) in AcceptedCombinations.OnePerArchitecture())
        {
            yield return (m, d);
            if (m.Arch == KernelArch.Aarch64)
            {
                MachineSpec va39 = m with { VaBits = 39 };
                yield return (va39, Scenario.ParseDesign(va39, d.Name));
            }
        }
    }

    /// <summary>Bytes of kernel memory translatable from user mode, per root register, counted by hand.</summary>
    private static Dictionary<string, ulong>? HandCount(KernelArch arch, DesignSpec d)
    {
        ulong extraImage = d.ImagePlacement == KernelImagePlacement.LinearMap ? 0 : Image;
        return (arch, d.Scheme) switch
        {
            (KernelArch.Arm, IsolationScheme.Classic) => new() { ["TTBR0"] = ArmLowmem + extraImage + ArmVectors },
            (KernelArch.ArmLpae, IsolationScheme.Classic) => new() { ["TTBR1"] = ArmLowmem + extraImage + ArmVectors },
            (KernelArch.Arm, IsolationScheme.FourGFourG) => new() { ["TTBR0"] = ArmShortTrampoline(d) }, // TTBCR.N = 0: TTBR1 is never walked
            (KernelArch.ArmLpae, IsolationScheme.FourGFourG) => new() { ["TTBR1"] = Image + ArmVectors }, // TTBR0 holds the user tables
            (KernelArch.Aarch64, IsolationScheme.Classic) => new() { ["TTBR1"] = 2 * G + extraImage + Vmemmap }, // swapper_pg_dir: the linear map of all RAM and the vmemmap
            (KernelArch.Aarch64, IsolationScheme.Kpti) => new() { ["TTBR1"] = TrampText },
            (KernelArch.X86, IsolationScheme.Classic) => new() { ["CR3"] = X86Lowmem + CeaPage },
            (KernelArch.X86Pae, IsolationScheme.Classic) => new() { ["CR3"] = PaeLowmem + CeaPage },
            (KernelArch.X86 or KernelArch.X86Pae, IsolationScheme.X86FourGFourG) => new() { ["CR3"] = X86FourGTrampoline },
            (KernelArch.X86_64, IsolationScheme.Kpti) when d.KaiserV1 => new() { ["CR3"] = KaiserExposed },
            (KernelArch.X86Pae or KernelArch.X86_64, IsolationScheme.Kpti) => new() { ["CR3"] = PtiExposed },
            (KernelArch.X86_64, IsolationScheme.Classic) => new() { ["CR3"] = 2 * G + CeaPage + Vmemmap },
            (KernelArch.RiscvSv39, IsolationScheme.Classic) => new() { ["satp"] = 2 * G + extraImage + Vmemmap },
            _ => null,
        };
    }

    [Fact]
    public void EveryDesignOnEveryArchitectureExposesExactlyWhatItsRootsMap()
    {
        List<string> failures = [];
        int audited = 0;
        foreach ((MachineSpec m, DesignSpec d) in Combinations())
        {
            string where = $"{d.Name} on {m.Arch.Name()}{(m.Arch == KernelArch.Aarch64 ? $" ({m.VaBits}-bit VA)" : "")}";
            Dictionary<string, ulong>? expected = HandCount(m.Arch, d);
            if (expected is null)
            {
                failures.Add($"{where}: no hand count");
                continue;
            }

            AuditResult a = IsolationAudit.Run(Scenario.Boot(m, d));
            audited++;
            Dictionary<string, ulong> actual = a.ExposedKernelRanges.GroupBy(r => r.Root).ToDictionary(g => g.Key, g => g.Aggregate(0UL, (s, r) => s + (r.End - r.Start)));
            string Show(Dictionary<string, ulong> byRoot) => string.Join(", ", byRoot.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}"));
            if (Show(actual) != Show(expected))
            {
                failures.Add($"{where}: exposed {Show(actual)}, by hand {Show(expected)}");
            }

            // the user buffer (64 KiB) is reachable from the kernel unless PAN holds or the user tables are not loaded
            ulong reachable = d.Pan != PanKind.None || d.Scheme is IsolationScheme.FourGFourG or IsolationScheme.X86FourGFourG ? 0 : 64 * K;
            if (a.ReachableUserBytes != reachable)
            {
                failures.Add($"{where}: reachable user bytes {a.ReachableUserBytes}, by hand {reachable}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.True(audited >= 80, $"only {audited} designs audited"); // 64-bit kernels run +pin-kmap through their vmemmap
    }

    [Theory]
    [InlineData(48, 0xffffffffff7fc000UL)] // FIXADDR_TOP -8 MiB (6.9+) - 4 pages: FIX_ENTRY_TRAMP_TEXT1 at index 4
    [InlineData(39, 0xffffffffff7fc000UL)]
    public void Arm64KptiExposesTheTrampolineTextAndClassicTheLinearMap(int vaBits, ulong trampValias)
    {
        MachineSpec m = new(MachineSpec.Require("cortex-a72"), KernelArch.Aarch64, 2 * G) { VaBits = vaBits };
        AuditResult kpti = IsolationAudit.Run(Scenario.Boot(m, Scenario.ParseDesign(m, "kpti")));
        ExposedRange tramp = Assert.Single(kpti.ExposedKernelRanges);
        Assert.Equal(new ExposedRange(trampValias, trampValias + TrampText, "r-x global", "TTBR1"), tramp);

        AuditResult classic = IsolationAudit.Run(Scenario.Boot(m, Scenario.ParseDesign(m, "classic")));
        ulong pageOffset = ~((1UL << vaBits) - 1); // PAGE_OFFSET = -2^VA_BITS: the linear map starts the TTBR1 range
        Assert.Equal(pageOffset, classic.ExposedKernelRanges[0].Start);
        Assert.Equal(2 * G, classic.ExposedKernelRanges.Where(r => r.End <= pageOffset + 2 * G).Aggregate(0UL, (n, r) => n + (r.End - r.Start)));
        // and the struct pages of those 2 GiB at VMEMMAP_START (arch/arm64/include/asm/memory.h), in PMD blocks
        Assert.Contains(classic.ExposedKernelRanges, r => r.End - r.Start == Vmemmap && r.Start > pageOffset + 2 * G);
        Assert.All(classic.ExposedKernelRanges, r => Assert.Equal("TTBR1", r.Root));
    }
}

using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Tests.Core;

/// <summary>
/// mmap_base and the exec'd stack's top as Linux 5.4 computes them (mm/util.c, arch/x86/mm/mmap.c, fs/binfmt_elf.c,
/// fs/exec.c), by hand: gap = RLIMIT_STACK 8 MiB + stack_guard_gap 1 MiB (+ STACK_RND_MASK pages when randomized),
/// clamped to [128 MiB, STACK_TOP / 6 * 5]; mmap_base = PAGE_ALIGN(STACK_TOP − gap − arch_mmap_rnd); the stack top
/// PAGE_ALIGN(STACK_TOP) − (get_random_long() &amp; STACK_RND_MASK) pages, then setup_arg_pages' arch_align_stack and
/// PAGE_ALIGN.
/// </summary>
public sealed class ProcessLayoutTests
{
    private static readonly (KernelArch Arch, string Cpu)[] Arches =
    [
        (KernelArch.X86_64, "skylake"), (KernelArch.X86, "core2-e6600"), (KernelArch.X86Pae, "core2-e6600"), (KernelArch.Arm, "cortex-a9"),
        (KernelArch.ArmLpae, "cortex-a15"), (KernelArch.Aarch64, "cortex-a53"), (KernelArch.RiscvSv39, "sifive-u74"),
    ];

    private static string CpuOf(KernelArch a) => Arches.Single(x => x.Arch == a).Cpu;

    // randomize_va_space 0: no PF_RANDOMIZE, so no stack pad and no rnd: gap = 9 MiB, below MIN_GAP, so 128 MiB.
    // x86-64 STACK_TOP is DEFAULT_MAP_WINDOW (1 << 47) - 4096; 32-bit x86 TASK_SIZE = PAGE_OFFSET 0xc0000000; arm
    // TASK_SIZE = PAGE_OFFSET - 16 MiB; arm64 1 << 48; RISC-V Sv39 TASK_SIZE 256 GiB.
    [Theory]
    [InlineData(KernelArch.X86_64, 0x7fff_f7ff_f000UL, 0x7fff_ffff_f000UL)]
    [InlineData(KernelArch.X86, 0xb800_0000UL, 0xc000_0000UL)]
    [InlineData(KernelArch.X86Pae, 0xb800_0000UL, 0xc000_0000UL)]
    [InlineData(KernelArch.Arm, 0xb700_0000UL, 0xbf00_0000UL)]
    [InlineData(KernelArch.ArmLpae, 0xb700_0000UL, 0xbf00_0000UL)]
    [InlineData(KernelArch.Aarch64, 0xffff_f800_0000UL, 0x1_0000_0000_0000UL)]
    [InlineData(KernelArch.RiscvSv39, 0x3f_f800_0000UL, 0x40_0000_0000UL)]
    public void WithoutRandomisationTheLayoutIsLinuxsFixedOne(KernelArch arch, ulong mmapBase, ulong stackTop)
    {
        SimKernel k = KernelBoot.Boot(arch, "classic", CpuOf(arch), seed: 1, randomizeVaSpace: 0);
        Assert.Equal((mmapBase, stackTop), (k.MmapBase, k.StackTop));
        SimKernel other = KernelBoot.Boot(arch, "classic", CpuOf(arch), seed: 2, randomizeVaSpace: 0);
        Assert.Equal((mmapBase, stackTop), (other.MmapBase, other.StackTop));
    }

    // Seed 1. The mmap stream's first get_random_long() is 0x7126215f4206c32f, the stack stream's 0xfb8cc4986a7ca72f
    // then 0x04351c99e7fc8d5f (SplitMix64 over the seed, each stream its own salt).
    // x86-64: rnd = low 28 bits 0x206c32f pages; gap = 8 MiB + 1 MiB + 0x3fffff pages = 0x4008ff000;
    //   mmap_base = 0x7ffffffff000 - 0x4008ff000 - 0x206c32f000 = 0x7fdb933d1000. Stack: 0x7ca72f & 0x3fffff = 0x3ca72f
    //   pages, 0x7ffc358d0000; arch_align_stack: get_random_int 0x04351c99 % 8192 = 7321 → 0x7ffc358ce367 & ~15, PAGE_ALIGN
    //   → 0x7ffc358cf000.
    // x86-32: rnd = low 8 bits 0x2f pages; gap 8 MiB + 1 MiB + 0x7ff pages < 128 MiB → 128 MiB: 0xc0000000 - 0x8000000 -
    //   0x2f000 = 0xb7fd1000. Stack: 0x72f pages → 0xbf8d1000; - 7321, & ~15, PAGE_ALIGN → 0xbf8d0000.
    // arm: 0xbf000000 - 0x8000000 - 0x2f000 = 0xb6fd1000; stack 0xbf000000 - 0x72f000 = 0xbe8d1000 (no arch_align_stack).
    // arm64: rnd = low 18 bits 0x2c32f pages; gap = 9 MiB + 0x3ffff pages = 0x408ff000;
    //   2^48 - 0x408ff000 - 0x2c32f000 = 0xffff933d2000. Stack: 0x7ca72f & 0x3ffff = 0x0a72f pages → 0xfffff58d1000;
    //   arch_align_stack takes below 4096 and PAGE_ALIGN restores the page: 0xfffff58d1000.
    // RISC-V Sv39: rnd 0x2c32f pages, gap 128 MiB: 0x4000000000 - 0x8000000 - 0x2c32f000 = 0x3fcbcd1000; stack
    //   0x4000000000 - 0x72f000 = 0x3fff8d1000.
    [Theory]
    [InlineData(KernelArch.X86_64, 0x7fdb_933d_1000UL, 0x7ffc_358c_f000UL)]
    [InlineData(KernelArch.X86, 0xb7fd_1000UL, 0xbf8d_0000UL)]
    [InlineData(KernelArch.Arm, 0xb6fd_1000UL, 0xbe8d_1000UL)]
    [InlineData(KernelArch.Aarch64, 0xffff_933d_2000UL, 0xffff_f58d_1000UL)]
    [InlineData(KernelArch.RiscvSv39, 0x3f_cbcd_1000UL, 0x3f_ff8d_1000UL)]
    public void SeedOneGivesTheHandComputedLayout(KernelArch arch, ulong mmapBase, ulong stackTop)
    {
        SimKernel k = KernelBoot.Boot(arch, "classic", CpuOf(arch), seed: 1, randomizeVaSpace: 2);
        Assert.Equal((mmapBase, stackTop), (k.MmapBase, k.StackTop));
    }

    [Theory]
    [InlineData(KernelArch.X86_64)]
    [InlineData(KernelArch.Arm)]
    [InlineData(KernelArch.Aarch64)]
    public void SeedsOneAndTwoDifferAndRandomizeOneIsTwo(KernelArch arch)
    {
        SimKernel one = KernelBoot.Boot(arch, "classic", CpuOf(arch), seed: 1);
        SimKernel two = KernelBoot.Boot(arch, "classic", CpuOf(arch), seed: 2);
        Assert.NotEqual(one.MmapBase, two.MmapBase);
        Assert.NotEqual(one.StackTop, two.StackTop);
        SimKernel again = KernelBoot.Boot(arch, "classic", CpuOf(arch), seed: 1, randomizeVaSpace: 1);
        Assert.Equal((one.MmapBase, one.StackTop), (again.MmapBase, again.StackTop));
    }

    // For every seed: both page aligned; mmap_base within [STACK_TOP - gap - the largest rnd, STACK_TOP - gap]; the stack
    // top within STACK_RND_MASK pages (and arch_align_stack's page) below STACK_TOP; the 128 KiB stack VMA above
    // mmap_base and room below it (FsCheck over seeds, a fixed replay seed so every run checks the same cases).
    [Fact]
    public void TheLayoutStaysInLinuxsRangesForEverySeed()
    {
        (KernelArch Arch, ulong Top, ulong Gap, ulong MaxRnd, ulong MaxShift)[] rows =
        [
            (KernelArch.X86_64, 0x7fff_ffff_f000UL, 0x4_008f_f000UL, ((1UL << 28) - 1) * 4096, (0x3fffffUL * 4096) + 4096),
            (KernelArch.X86, 0xc000_0000UL, 128UL << 20, 255UL * 4096, (0x7ffUL * 4096) + 4096),
            (KernelArch.Arm, 0xbf00_0000UL, 128UL << 20, 255UL * 4096, 0x7ffUL * 4096),
            (KernelArch.Aarch64, 1UL << 48, 0x408f_f000UL, ((1UL << 18) - 1) * 4096, 0x3ffffUL * 4096),
            (KernelArch.RiscvSv39, 1UL << 38, 128UL << 20, ((1UL << 18) - 1) * 4096, 0x7ffUL * 4096),
        ];
        bool InRange(ulong seed) => rows.All(r =>
        {
            SimKernel k = KernelBoot.Boot(r.Arch, "classic", CpuOf(r.Arch), seed: seed);
            return k.MmapBase % 4096 == 0 && k.StackTop % 4096 == 0
                && k.MmapBase <= r.Top - r.Gap && k.MmapBase >= r.Top - r.Gap - r.MaxRnd
                && k.StackTop <= r.Top && k.StackTop >= r.Top - r.MaxShift
                && k.StackTop - SimKernel.ExecStackBytes >= k.MmapBase && k.MmapBase > SimKernel.UserFloor + (64UL << 20);
        });
        FsCheck.Replay replay = new(new Rnd(0x5EED_2026UL, 0x9E37_79B9_7F4A_7C15UL), FSharpOption<int>.None);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(10).WithReplay(FSharpOption<FsCheck.Replay>.Some(replay)), Prop.ForAll(ArbMap.Default.GeneratorFor<ulong>().ToArbitrary(), InRange));
    }

    // A process the kernel did not exec gets its stack VMA where exec would put it: 128 KiB below the stack top.
    [Fact]
    public void MapStackPlacesTheStackVmaBelowTheStackTop()
    {
        SimKernel k = KernelBoot.Boot(KernelArch.X86_64, "classic", "skylake");
        Process p = k.CreateProcess();
        Assert.Equal(k.StackTop - SimKernel.ExecStackBytes, k.MapStack(p).Value);
        Vmsplit.Kernel.Mm.Vma v = p.Vmas.Find(new Vmsplit.Hardware.VirtualAddress(k.StackTop - 1))!;
        Assert.Equal((k.StackTop - SimKernel.ExecStackBytes, k.StackTop), (v.Start.Value, v.End.Value));
    }

    // Each execve draws the next layout of the seeded streams (setup_new_exec → arch_pick_mmap_layout, setup_arg_pages →
    // randomize_stack_top; fs/exec.c, fs/binfmt_elf.c 5.4); the boot drew the first (SeedOneGivesTheHandComputedLayout).
    // Seed 1, second draws: the mmap stream's 0xfa18a8a25c4a896a, the stack stream's 0xd7c677b73df8f921 then
    // 0x2cbcb7f4... (x86-64; arm has no arch_align_stack, so its stack stream's second value 0x04351c99e7fc8d5f).
    // x86-64: rnd = 0xc4a896a pages: 0x7ffffffff000 - 0x4008ff000 - 0xc4a896a000 = 0x7f3756d96000; stack 0x38f921 pages:
    //   0x7ffc706de000, - (0x2cbcb7f4 % 8192 = 6132) = 0x7ffc706dc80c, & ~15, PAGE_ALIGN → 0x7ffc706dd000.
    // arm: rnd 0x6a pages: 0xbf000000 - 0x8000000 - 0x6a000 = 0xb6f96000; stack 0x55f pages: 0xbeaa1000.
    // The old process keeps the boot's, a fork keeps its parent's (dup_mm), an exec that faults (-EFAULT before the point
    // of no return) draws nothing, and the new mm's regions go below its own mmap_base.
    [Theory]
    [InlineData(KernelArch.X86_64, 0x7fdb_933d_1000UL, 0x7ffc_358c_f000UL, 0x7f37_56d9_6000UL, 0x7ffc_706d_d000UL)]
    [InlineData(KernelArch.Arm, 0xb6fd_1000UL, 0xbe8d_1000UL, 0xb6f9_6000UL, 0xbeaa_1000UL)]
    public void EachExecveDrawsTheNextLayout(KernelArch arch, ulong bootBase, ulong bootTop, ulong execBase, ulong execTop)
    {
        SimKernel k = KernelBoot.Boot(arch, "classic", CpuOf(arch), seed: 1, randomizeVaSpace: 2);
        Process p = k.CreateProcess();
        Assert.Equal((bootBase, bootTop), (p.MmapBase, p.StackTop));
        Vmsplit.Hardware.VirtualAddress data = k.MapRegion(p, 4096, Vmsplit.Kernel.Mm.VmFlags.Read | Vmsplit.Kernel.Mm.VmFlags.Write);
        k.Start(p);
        k.UserTouch(p, data, 4096, write: true);
        k.Memory.Write(p.Tables.Lookup(data + 4095).Translate(data + 4095), [0]); // the path: an empty string
        Process child = k.Syscall(p, new Vmsplit.Kernel.Abi.SyscallRequest(Vmsplit.Kernel.Abi.SyscallKind.Fork)).Child!;
        Assert.Equal((bootBase, bootTop), (child.MmapBase, child.StackTop));

        Vmsplit.Kernel.Abi.ExecArgs faulting = new(data, 1, 0, [(new Vmsplit.Hardware.VirtualAddress(0x20_0000), 3)], 0);
        Assert.Equal(-14L, k.Syscall(p, new Vmsplit.Kernel.Abi.SyscallRequest(Vmsplit.Kernel.Abi.SyscallKind.Execve, data + 4095, 1, Exec: faulting)).Value);
        Vmsplit.Kernel.Abi.ExecArgs args = new(data, 0, 0, [], 0);
        Process next = k.Syscall(p, new Vmsplit.Kernel.Abi.SyscallRequest(Vmsplit.Kernel.Abi.SyscallKind.Execve, data + 4095, 1, Exec: args)).Child!;
        Assert.Equal((execBase, execTop), (next.MmapBase, next.StackTop));
        Assert.Equal((bootBase, bootTop), (k.MmapBase, k.StackTop));
        Assert.Equal((execTop - SimKernel.ExecStackBytes, execTop), next.Vmas.Areas.Select(v => (v.Start.Value, v.End.Value)).Single());
        Assert.Equal(execBase - 4096, k.MapRegion(next, 4096, Vmsplit.Kernel.Mm.VmFlags.Read).Value);
    }
}

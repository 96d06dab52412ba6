using System.Text;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Mm;
using Vmsplit.Lab;
using Vmsplit.Workloads;

namespace Vmsplit.Lab.Tests;

/// <summary>The designs as the kernel issue asks: real bytes through every uaccess strategy, isolation, coherence.</summary>
public class DesignBehaviourTests
{
    public static TheoryData<string, string> AllDesigns => new()
    {
        { "arm-lpae", "classic" },
        { "arm-lpae", "classic+pan" },
        { "arm-lpae", "classic+pin-kmap" },
        { "arm-lpae", "4g4g" },
        { "arm-lpae", "4g4g+ttbr0-switch" },
        { "arm-lpae", "4g4g+hybrid" },
        { "arm-lpae", "4g4g+trampoline" },
        { "arm-lpae", "4g4g+pmd-copy" },
        { "arm", "classic" },
        { "arm", "classic+pan" },
        { "x86-64", "classic" },
        { "x86-64", "classic+pan" },
        { "x86-64", "kpti" },
        { "x86-64", "kpti+nopcid" },
        { "x86-64", "kpti+global" },
        { "x86-64", "kpti+kaiser-v1" },
    };

    internal static MachineSpec Machine(string arch) => arch switch
    {
        "arm-lpae" => MachineSpec.DefaultArm(),
        "arm" => MachineSpec.DefaultArm() with { Arch = Kernel.Layout.KernelArch.Arm },
        _ => MachineSpec.SkylakeX86(),
    };

    private static (SimKernel K, Process P, VirtualAddress Buf) Boot(string arch, string design, bool check = true)
    {
        MachineSpec m = Machine(arch);
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design), coherenceCheck: check);
        Process p = k.CreateProcess();
        VirtualAddress buf = k.MapRegion(p, 64 * 1024, VmFlags.Read | VmFlags.Write);
        k.Start(p);
        return (k, p, buf);
    }

    [Theory]
    [MemberData(nameof(AllDesigns))]
    public void StringsCrossPageBoundariesThroughEveryUaccessStrategy(string arch, string design)
    {
        (SimKernel k, Process p, VirtualAddress buf) = Boot(arch, design);
        byte[] text = Encoding.ASCII.GetBytes("a path that straddles two user pages\0");
        VirtualAddress at = buf + 0x1000 - 9;
        k.EnterKernel();
        Assert.Equal(0UL, k.Uaccess.CopyToUser(at, text)); // the pages are not present yet: uaccess faults them in
        byte[] back = new byte[64];
        Assert.Equal(text.Length - 1, k.Uaccess.StrncpyFromUser(back, at, 64));
        Assert.Equal(text[..^1], back[..(text.Length - 1)]);
        Assert.Equal(0, k.Uaccess.PutUser(buf + 0x2000, 4, 0xfeedface));
        Assert.Equal(0, k.Uaccess.GetUser(buf + 0x2000, 4, out ulong v));
        Assert.Equal(0xfeedfaceUL, v);

        // A copy that runs off the end of the region: the exact remainder is reported.
        byte[] big = new byte[0x2000];
        Assert.Equal(0x1000UL, k.Uaccess.CopyFromUser(big, buf + (64 * 1024) - 0x1000));
        Assert.Equal((ulong)text.Length, k.Uaccess.CopyToUser(new VirtualAddress(k.Layout.TaskSize - 4), text)); // access_ok fails
        k.ExitKernel();

        // User code sees what the kernel wrote.
        k.UserTouch(p, at, (ulong)text.Length, write: false);
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void CopiesGoThroughHighmemPagesUnderClassicWithHighmem()
    {
        MachineSpec m = MachineSpec.DefaultArm();
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, "classic+pin-kmap"), coherenceCheck: true);
        Assert.NotNull(k.Highmem);
        Process p = k.CreateProcess();
        VirtualAddress buf = k.MapRegion(p, 16 * 1024, VmFlags.Read | VmFlags.Write);
        k.Start(p);
        k.UserTouch(p, buf, 16 * 1024, write: true);
        PageTableLookup l = p.Tables.Lookup(buf);
        Assert.True(k.IsHighmem(l.FrameBase)); // anonymous memory comes from highmem first (GFP_HIGHUSER)
        long maps = k.KmapLocal.Maps;
        k.EnterKernel();
        byte[] data = Encoding.ASCII.GetBytes("through a kmap_local slot");
        Assert.Equal(0UL, k.Uaccess.CopyToUser(buf + 4090, data));
        k.ExitKernel();
        Assert.True(k.KmapLocal.Maps >= maps + 2); // two pages, each mapped through a fixmap slot
        byte[] raw = new byte[data.Length];
        k.Memory.Read(l.Translate(buf + 4090), raw.AsSpan(0, 6));
        Assert.Equal(data[..6], raw[..6]);
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void KptiUserModeTranslatesNoKernelTextOutsideTheEntryArea()
    {
        MachineSpec m = MachineSpec.SkylakeX86();
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, "kpti"), coherenceCheck: true);
        AuditResult a = IsolationAudit.Run(k);
        // exposed: the 2 MiB PMD holding __entry_text and cpu_entry_area's page, nothing else
        Assert.Equal(2 * ByteSize.MiB + 4096, a.ExposedKernelBytes);
        Assert.All(a.ExposedKernelRanges, r => Assert.True(
            (r.Start >> 21 == k.EntryVa.Value >> 21) || r.Start == k.EntryAreaVa.Value, $"{ByteSize.Hex(r.Start)} is exposed"));

        Process p = k.CreateProcess();
        k.Start(p);
        int far = Enumerable.Range(1, 30).First(i => k.TextPage(i).Value >> 21 != k.EntryVa.Value >> 21);
        VirtualAddress text = k.TextPage(far); // a handler page outside the entry text's 2 MiB block
        Assert.Equal(FaultKind.Translation, k.Cpu.Mmu.WalkUncounted(text, AccessType.Read, Privilege.Kernel).Fault);
        k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
        Assert.True(k.Cpu.Mmu.WalkUncounted(text, AccessType.Read, Privilege.Kernel).IsFault); // back in user tables
        Assert.Empty(k.Checker!.Reports);
    }

    [Theory]
    [InlineData("4g4g")]
    [InlineData("4g4g+ttbr0-switch")]
    [InlineData("4g4g+trampoline")]
    public void FourGFourGKernelCannotTouchUserMemoryOutsideUaccess(string design)
    {
        (SimKernel k, Process p, VirtualAddress buf) = Boot("arm-lpae", design);
        k.UserTouch(p, buf, 0x4000, write: true);
        PhysicalAddress userFrame = p.Tables.Lookup(buf).FrameBase;
        k.EnterKernel();
        WalkResult w = k.Cpu.Mmu.WalkUncounted(buf, AccessType.Read, Privilege.Kernel);
        Assert.True(w.IsFault || w.Translate(buf) != userFrame); // the kernel's TTBR0 maps lowmem there, not the user page
        Assert.Equal(0, k.Uaccess.PutUser(buf, 4, 7)); // while uaccess reaches it
        k.ExitKernel();
        AuditResult a = IsolationAudit.Run(k);
        Assert.Equal(0UL, a.ReachableUserBytes);
        Assert.All(a.ExposedKernelRanges, r => Assert.True(r.Start >= k.Layout.KernelRootStart, $"{ByteSize.Hex(r.Start)} is below TTBR1"));
    }

    [Theory]
    [InlineData("arm-lpae", "classic")]
    [InlineData("arm-lpae", "4g4g")]
    [InlineData("arm", "classic")]
    [InlineData("x86-64", "classic")]
    [InlineData("x86-64", "kpti")]
    [InlineData("x86-64", "kpti+nopcid")]
    public void ThreeHundredProcessesSwitchingStayCoherent(string arch, string design)
    {
        MachineSpec m = Machine(arch);
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design), coherenceCheck: true);
        List<(Process P, VirtualAddress Buf)> ps = new();
        for (int i = 0; i < 300; i++)
        {
            Process p = k.CreateProcess();
            ps.Add((p, k.MapRegion(p, 8192, VmFlags.Read | VmFlags.Write)));
        }

        k.Start(ps[0].P);
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < ps.Count; i++)
            {
                (Process p, VirtualAddress buf) = ps[i];
                if (k.Current != p)
                {
                    k.ContextSwitch(k.Current!, p, null, null);
                }

                k.UserTouch(p, buf, 8192, write: true);
                k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
            }
        }

        Assert.Empty(k.Checker!.Reports);
        if (arch.StartsWith("arm", StringComparison.Ordinal))
        {
            Assert.True(((Kernel.Asid.ArmAsidAllocator)k.Asids).Rollovers >= 2); // 8-bit ASIDs: 300 mms roll the generation over
        }
    }

    [Theory]
    [InlineData("arm-lpae", "classic")]
    [InlineData("arm-lpae", "4g4g")]
    [InlineData("x86-64", "kpti")]
    public void ForkAndExitLeakNoFrames(string arch, string design)
    {
        MachineSpec m = Machine(arch);
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design), coherenceCheck: true);
        Runner r = new(k, BuiltinWorkloads.Get("fork-exit"));
        r.Measure(3, warmup: 1);
        ulong low = k.Lowmem.UsedPages;
        ulong high = k.Highmem?.UsedPages ?? 0;
        r.Measure(5, warmup: 0);
        Assert.Equal(low, k.Lowmem.UsedPages);
        Assert.Equal(high, k.Highmem?.UsedPages ?? 0);
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void PkmapPoolWrapsOnTheRealTables()
    {
        MachineSpec m = MachineSpec.DefaultArm();
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, "classic"), coherenceCheck: true);
        Process p = k.CreateProcess();
        k.Start(p);
        PkmapPool pool = k.Pkmap!;
        k.EnterKernel();
        for (int i = 0; i < pool.LastPkmap + 10; i++)
        {
            PhysicalAddress frame = k.AllocUserFrame();
            VirtualAddress va = pool.Kmap(frame)!.Value;
            Translation t = k.Cpu.Access(va, AccessType.Write, Privilege.Kernel);
            Assert.False(t.IsFault, $"{va}: {t.Fault}");
            pool.Kunmap(va);
        }

        k.ExitKernel();
        Assert.Equal(1, pool.Wraps);
        Assert.Empty(k.Checker!.Reports); // the wrap's flush_tlb_kernel_range removed every stale pkmap entry
    }
}

using Vmsplit.Kernel.Asid;

namespace Vmsplit.Kernel.Tests.Asid;

public class ArmAsidAllocatorTests
{
    private static MmContext[] Processes(int count)
    {
        MmContext[] mms = new MmContext[count + 1];
        for (int i = 1; i <= count; i++)
        {
            mms[i] = new MmContext((ulong)i + 1, "P" + i);
        }

        return mms;
    }

    [Fact]
    public void ThreeHundredProcessesOnEightBitAsidsRollOverOnce()
    {
        // One CPU, P1..P300 each switched to once. 8-bit ASIDs, ASID 0 reserved: 255 per generation.
        // P1..P255 take ASIDs 1..255 in generation 1. P256 finds no free bit: generation 2, the map is
        // rebuilt from the CPU's active ASID (P255's 255), P256 takes 1 and performs the pending flush.
        // P257..P300 take 2..45. One rollover, one local flush.
        ArmAsidAllocator a = new(ArmAsidFlavor.Arm32Lpae, cpus: 1);
        MmContext[] p = Processes(300);
        int flushes = 0;
        for (int i = 1; i <= 300; i++)
        {
            AsidSwitch s = a.SwitchMm(0, p[i]);
            Assert.True(s.WritesRoot);
            Assert.Equal(i == 256, s.Rollover);
            Assert.Equal(i == 256 ? SwitchFlush.All : SwitchFlush.None, s.Flush);
            flushes += s.Flush == SwitchFlush.All ? 1 : 0;
            Assert.Equal(i <= 255 ? i : i - 255, s.Asid);
        }

        Assert.Equal(2UL, a.Generation);
        Assert.Equal(1, a.Rollovers);
        Assert.Equal(1, flushes);
        Assert.Equal(1, a.FlushCount);
        Assert.Equal(45, a.AsidOf(p[300]));
        Assert.Equal(2UL, a.GenerationOf(p[300]));
        Assert.Equal(1UL, a.GenerationOf(p[1]));
    }

    [Fact]
    public void ThreePassesOverThreeHundredProcessesRollOverThreeTimes()
    {
        // Hand trace (one CPU, round robin P1..P300, 255 ASIDs per generation):
        // pass 1: rollover 1 at P256 (gen 2, P255's 255 reserved); P256..P300 -> 1..45, cur_idx 45.
        // pass 2: P_k's old ASID k is taken, so P_k -> 45+k for k = 1..209 (P209 -> 254); P210 finds
        //   only 255 left and it is reserved: rollover 2 (gen 3, P209's 254 reserved), P210 -> 1.
        //   P211..P253 and P255 take back their old ASIDs 211..253 and 255 (free in gen 3; reuse does
        //   not move cur_idx); P254's old 254 is reserved -> 2; P256..P300 (old 1..45) -> 3..47.
        // pass 3: P_k (old 45+k, taken) -> 47+k while that stays below 211: P163 -> 210; P164 finds
        //   211..255 all taken: rollover 3 (gen 4), P164 -> 1. Generation 4 then serves the remaining
        //   137 processes without running out. Three rollovers, three flushes (one CPU).
        ArmAsidAllocator a = new(ArmAsidFlavor.Arm64, cpus: 1, asidBits: 8);
        MmContext[] p = Processes(300);
        List<(int Pass, int Process)> rollovers = [];
        for (int pass = 1; pass <= 3; pass++)
        {
            for (int i = 1; i <= 300; i++)
            {
                if (a.SwitchMm(0, p[i]).Rollover)
                {
                    rollovers.Add((pass, i));
                }
            }

            if (pass == 2)
            {
                // Spot checks of pass 2 in the trace above.
                Assert.Equal(211, a.AsidOf(p[211]));
                Assert.Equal(3UL, a.GenerationOf(p[211]));
                Assert.Equal(2, a.AsidOf(p[254]));
                Assert.Equal(47, a.AsidOf(p[300]));
            }
        }

        Assert.Equal([(1, 256), (2, 210), (3, 164)], rollovers);
        Assert.Equal(4UL, a.Generation);
        Assert.Equal(3, a.FlushCount);

        // Pass 3 after the rollover: P165 (old 210, reserved) -> 2; P166..P209 take back 211..254;
        // P210 (old 1, now P164's) -> 3; P211 (old 211, now P166's) -> 4.
        Assert.Equal(210, a.AsidOf(p[163]));
        Assert.Equal(3UL, a.GenerationOf(p[163]));
        Assert.Equal(1, a.AsidOf(p[164]));
        Assert.Equal(2, a.AsidOf(p[165]));
        Assert.Equal(211, a.AsidOf(p[166]));
        Assert.Equal(4, a.AsidOf(p[211]));
        Assert.Equal(4UL, a.GenerationOf(p[211]));
    }

    [Fact]
    public void ProcessActiveOnAnotherCpuKeepsItsAsidAcrossRollover()
    {
        // CPU1 runs P1 (ASID 1). CPU0 runs P2..P300: P2..P255 -> 2..255, P256 rolls over. The map is
        // rebuilt from CPU0's 255 and CPU1's 1; P256 -> 2 and CPU0 flushes. P257..P300 -> 3..46.
        ArmAsidAllocator a = new(ArmAsidFlavor.Arm64, cpus: 2, asidBits: 8);
        MmContext[] p = Processes(300);
        Assert.Equal(1, a.SwitchMm(1, p[1]).Asid);
        for (int i = 2; i <= 300; i++)
        {
            AsidSwitch s = a.SwitchMm(0, p[i]);
            Assert.Equal(i <= 255 ? i : i - 254, s.Asid);
        }

        Assert.Equal(2UL, a.Generation);
        Assert.Equal(1, a.FlushCount);

        // CPU1 switches to P2 (old ASID 2, now P256's): new ASID 47, and CPU1's pending flush runs.
        AsidSwitch s2 = a.SwitchMm(1, p[2]);
        Assert.Equal(47, s2.Asid);
        Assert.Equal(SwitchFlush.All, s2.Flush);

        // P1 comes back on CPU0: CPU1's reserved slot still names P1's old context, so P1 keeps ASID 1
        // in generation 2 without a new allocation and CPU0 has nothing left to flush.
        AsidSwitch s1 = a.SwitchMm(0, p[1]);
        Assert.Equal(1, s1.Asid);
        Assert.Equal(SwitchFlush.None, s1.Flush);
        Assert.True(a.IsCurrent(p[1]));
        Assert.Equal(2, a.FlushCount);
        Assert.Equal(1, a.Rollovers);
    }

    [Fact]
    public void FastPathNeedsNoLockOnceTheCpuRunsSomething()
    {
        ArmAsidAllocator a = new(ArmAsidFlavor.Arm64, cpus: 1, asidBits: 16);
        MmContext[] p = Processes(2);
        Assert.True(a.SwitchMm(0, p[1]).SlowPath);   // first allocation
        Assert.True(a.SwitchMm(0, p[2]).SlowPath);   // second allocation
        AsidSwitch back = a.SwitchMm(0, p[1]);       // ASID current, CPU active: fast path
        Assert.False(back.SlowPath);
        Assert.Equal(1, back.Asid);
        AsidSwitch same = a.SwitchMm(0, p[1]);
        Assert.False(same.WritesRoot);
        Assert.Equal(65535, a.UsableContexts);
    }

    [Fact]
    public void KptiAllocatesEvenOddPairs()
    {
        // asid2idx/idx2asid: index i -> kernel ASID 2i, user ASID 2i+1; 8 bits give 128 indices, 127 usable.
        ArmAsidAllocator a = new(ArmAsidFlavor.Arm64, cpus: 1, asidBits: 8, kpti: true);
        Assert.Equal(127, a.UsableContexts);
        MmContext[] p = Processes(130);
        for (int i = 1; i <= 127; i++)
        {
            AsidSwitch s = a.SwitchMm(0, p[i]);
            Assert.Equal(2 * i, s.Asid);
            Assert.Equal(2 * i + 1, s.UserAsid);
        }

        // P128 exhausts the pairs: rollover keeps P127's 254/255 reserved and restarts at 2/3.
        AsidSwitch r = a.SwitchMm(0, p[128]);
        Assert.True(r.Rollover);
        Assert.Equal(2, r.Asid);
        Assert.Equal(3, r.UserAsid);
    }

    [Fact]
    public void PinnedAsidSurvivesRolloverWhileNotRunning()
    {
        // 8-bit, 1 CPU: max_pinned = 256 - 1 - 2 = 253.
        ArmAsidAllocator a = new(ArmAsidFlavor.Arm64, cpus: 1, asidBits: 8);
        Assert.Equal(253, a.MaxPinned);
        MmContext[] p = Processes(300);
        a.SwitchMm(0, p[1]);
        Assert.Equal(1, a.Pin(p[1]));

        // Everyone else runs; P1 never runs again but keeps ASID 1 through the rollover.
        for (int i = 2; i <= 300; i++)
        {
            a.SwitchMm(0, p[i]);
        }

        Assert.Equal(2UL, a.Generation);

        // P256 took the first free index after the rollover: 1 is pinned, 255 reserved, so 2.
        Assert.Equal(2, a.AsidOf(p[256]));
        AsidSwitch back = a.SwitchMm(0, p[1]);
        Assert.Equal(1, back.Asid);
        a.Unpin(p[1]);
    }

    [Fact]
    public void PinBudgetIsEnforced()
    {
        // 8 bits, KPTI, 4 CPUs: 128 pairs, max_pinned = 128 - 4 - 2 = 122; the pin returns the user ASID.
        ArmAsidAllocator a = new(ArmAsidFlavor.Arm64, cpus: 4, asidBits: 8, kpti: true);
        Assert.Equal(122, a.MaxPinned);
        MmContext[] p = Processes(123);
        for (int i = 1; i <= 122; i++)
        {
            Assert.Equal(2 * i + 1, a.Pin(p[i]));
        }

        Assert.Equal(0, a.Pin(p[123]));
    }

    [Fact]
    public void Arm32ClassicSwitchesThroughTheReservedTtbr0()
    {
        ArmAsidAllocator a = new(ArmAsidFlavor.Arm32Classic, cpus: 1);
        Assert.True(a.SwitchMm(0, new MmContext(5)).ReservedRootFirst);
        ArmAsidAllocator l = new(ArmAsidFlavor.Arm32Lpae, cpus: 1);
        Assert.False(l.SwitchMm(0, new MmContext(5)).ReservedRootFirst);
        Assert.Throws<ArgumentException>(() => new ArmAsidAllocator(ArmAsidFlavor.Arm32Lpae, 1, asidBits: 16));
    }
}

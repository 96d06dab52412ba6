using Vmsplit.Kernel.Asid;

namespace Vmsplit.Kernel.Tests.Asid;

public class X86PcidAllocatorTests
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
    public void SevenProcessesRoundRobinOnSixSlotsFlushOnEverySwitch()
    {
        // Boot: slot 0 holds init_mm, next_asid = 1. Round 1: P1..P5 -> slots 1..5; P6: next_asid 6
        // wraps to slot 0 (evicting init_mm), next_asid = 1; P7 -> slot 1 (evicting P1). Round 2: P1
        // finds no slot -> 2 (evicting P2), P2 -> 3, ... every mm has just been evicted when its turn
        // comes, like LRU on a cyclic pattern one longer than the cache: all 21 switches flush.
        X86PcidAllocator x = new(cpus: 1, pcid: true, pti: false);
        MmContext[] p = Processes(7);
        int[] expectedSlots = [1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3];
        int n = 0;
        for (int round = 0; round < 3; round++)
        {
            for (int i = 1; i <= 7; i++)
            {
                AsidSwitch s = x.SwitchMm(0, p[i]);
                Assert.Equal(expectedSlots[n], x.LoadedSlot(0));
                Assert.Equal(expectedSlots[n] + 1, s.Asid);
                Assert.Equal(SwitchFlush.Asid, s.Flush);
                Assert.False(s.NoFlush);
                n++;
            }
        }

        Assert.Equal(21, x.FlushCount);
    }

    [Fact]
    public void SixProcessesFitAfterTheFirstRound()
    {
        // P1..P5 -> slots 1..5, P6 -> slot 0 (init_mm evicted); round 2 finds every mm in its slot
        // with an up-to-date tlb_gen: CR3 written with NOFLUSH, no flush.
        X86PcidAllocator x = new(cpus: 1, pcid: true, pti: false);
        MmContext[] p = Processes(6);
        for (int i = 1; i <= 6; i++)
        {
            Assert.Equal(SwitchFlush.Asid, x.SwitchMm(0, p[i]).Flush);
        }

        for (int i = 1; i <= 6; i++)
        {
            AsidSwitch s = x.SwitchMm(0, p[i]);
            Assert.Equal(SwitchFlush.None, s.Flush);
            Assert.True(s.NoFlush);
            Assert.Equal(i == 6 ? 1 : i + 1, s.Asid);
        }

        Assert.Equal(6, x.FlushCount);
    }

    [Fact]
    public void StaleTlbGenInTheSlotForcesAFlush()
    {
        X86PcidAllocator x = new(cpus: 1, pcid: true, pti: false);
        MmContext[] p = Processes(2);
        x.SwitchMm(0, p[1]);
        x.SwitchMm(0, p[2]);

        // Another CPU unmapped something in P1 (flush_tlb_mm_range bumps tlb_gen); this CPU's slot 1 is behind.
        p[1].IncrementTlbGen();
        AsidSwitch s = x.SwitchMm(0, p[1]);
        Assert.Equal(1, x.LoadedSlot(0));
        Assert.Equal(SwitchFlush.Asid, s.Flush);

        // Caught up: the next return to P1 keeps its entries.
        x.SwitchMm(0, p[2]);
        Assert.Equal(SwitchFlush.None, x.SwitchMm(0, p[1]).Flush);
    }

    [Fact]
    public void PtiPairsAndTheDeferredUserFlush()
    {
        X86PcidAllocator x = new(cpus: 1, pcid: true, pti: true);
        MmContext[] p = Processes(2);

        // New slot 1: kPCID 2 flushed now by the CR3 write, uPCID 2|0x800 = 0x802 flagged in user_pcid_flush_mask.
        AsidSwitch s = x.SwitchMm(0, p[1]);
        Assert.Equal(2, s.Asid);
        Assert.Equal(0x802, s.UserAsid);
        Assert.True(s.UserFlushDeferred);
        Assert.True(x.UserFlushPending(0));

        // First exit flushes the user PCID and clears the bit; entry and later exits keep everything.
        Assert.Equal(new Cr3Write(0x802, NoFlush: false, SwitchFlush.Asid), x.ExitToUser(0));
        Assert.False(x.UserFlushPending(0));
        Assert.Equal(new Cr3Write(2, NoFlush: true, SwitchFlush.None), x.EnterKernel(0));
        Assert.Equal(new Cr3Write(0x802, NoFlush: true, SwitchFlush.None), x.ExitToUser(0));

        // A local flush of the loaded mm (flush_tlb_func) queues the user half again.
        Assert.Equal(new Cr3Write(2, NoFlush: false, SwitchFlush.Asid), x.FlushLoadedMm(0));
        Assert.Equal(new Cr3Write(0x802, NoFlush: false, SwitchFlush.Asid), x.ExitToUser(0));
    }

    [Fact]
    public void WithoutPcidEverySwitchAndEveryPtiCr3WriteFlushes()
    {
        X86PcidAllocator x = new(cpus: 1, pcid: false, pti: true);
        MmContext[] p = Processes(2);
        for (int round = 0; round < 2; round++)
        {
            for (int i = 1; i <= 2; i++)
            {
                AsidSwitch s = x.SwitchMm(0, p[i]);
                Assert.Equal(0, s.Asid);
                Assert.Equal(SwitchFlush.Asid, s.Flush);
                Assert.False(s.NoFlush);
            }
        }

        Assert.Equal(new Cr3Write(0, NoFlush: false, SwitchFlush.Asid), x.EnterKernel(0));
        Assert.Equal(new Cr3Write(0, NoFlush: false, SwitchFlush.Asid), x.ExitToUser(0));
        Assert.Null(new X86PcidAllocator(1, pcid: true, pti: false).ExitToUser(0));
    }
}

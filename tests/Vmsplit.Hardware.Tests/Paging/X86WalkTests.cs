using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.X86;

namespace Vmsplit.Hardware.Tests.Paging;

/// <summary>Exact x86 walks: steps, results, permission matrices, canonical and reserved-bit faults.</summary>
public sealed class X86WalkTests
{
    private const ulong KernelRw = 0xFFFF_8880_0000_0000; // the direct map (page_offset_base)
    private const ulong KernelRx = 0xFFFF_FFFF_8100_0000; // __START_KERNEL_map + 16 MiB
    private const ulong UserRw = 0x40_0000;
    private const ulong UserRx = 0x40_1000;

    [Fact]
    public void FourLevelWalkOfAUserPageIsExact()
    {
        PagingFixture m = new(X86PageTableFormat.X86_64);
        m.Map(UserRw, 0x500_0000, 4096, PageAttributes.UserData);
        WalkTrace trace = new();
        WalkResult r = m.Walk(0x40_0123, AccessType.Read, Privilege.User, trace);

        Assert.Equal(FaultKind.None, r.Fault);
        Assert.Equal(0x500_0123UL, r.Translate(new VirtualAddress(0x40_0123)).Value);
        Assert.Equal(4096UL, r.PageSize);
        Assert.Equal(1, r.Level);
        Assert.Equal(4, r.Reads);
        Assert.True(r.User);
        Assert.False(r.Global);
        Assert.Equal(AccessRights.KernelRead | AccessRights.KernelWrite | AccessRights.UserRead | AccessRights.UserWrite, r.Rights);

        // Root at the bank's first frame; tables from the next frames; 0x400000 = PML4[0] PDPT[0] PD[2] PT[0].
        Assert.Equal("CR3", trace.Root);
        Assert.Equal(0x1000_0000UL, trace.RootValue);
        Assert.Equal(
            [
                new WalkStep(4, new PhysicalAddress(0x1000_0000), 0, 0x1000_1067, "table"),
                new WalkStep(3, new PhysicalAddress(0x1000_1000), 0, 0x1000_2067, "table"),
                new WalkStep(2, new PhysicalAddress(0x1000_2000), 2, 0x1000_3067, "table"),
                new WalkStep(1, new PhysicalAddress(0x1000_3000), 0, 0x8000_0000_0500_0027, "leaf"),
            ],
            trace.Steps);
    }

    [Fact]
    public void KernelTextBlockSitsAtPml4Index511()
    {
        PagingFixture m = new(X86PageTableFormat.X86_64);
        m.Map(UserRw, 0x500_0000, 4096, PageAttributes.UserData);
        m.Map(KernelRx, 0x100_0000, 2 * ByteSize.MiB, PageAttributes.KernelText);
        WalkTrace trace = new();
        WalkResult r = m.Walk(KernelRx + 0x1_2345, AccessType.Execute, Privilege.Kernel, trace);

        Assert.Equal(FaultKind.None, r.Fault);
        Assert.Equal(0x101_2345UL, r.Translate(new VirtualAddress(KernelRx + 0x1_2345)).Value);
        Assert.Equal(2 * ByteSize.MiB, r.PageSize);
        Assert.Equal(2, r.Level);
        Assert.Equal(3, r.Reads);
        Assert.True(r.Global);

        // 0xffffffff81000000: PML4 511, PDPT 510, PD 8; kernel tables are _KERNPG_TABLE (0x63); buddy order puts them at +4 and +5 pages.
        Assert.Equal(
            [
                new WalkStep(4, new PhysicalAddress(0x1000_0000), 511, 0x1000_4063, "table"),
                new WalkStep(3, new PhysicalAddress(0x1000_4000), 510, 0x1000_5063, "table"),
                new WalkStep(2, new PhysicalAddress(0x1000_5000), 8, 0x0100_01E1, "leaf"),
            ],
            trace.Steps);
    }

    [Fact]
    public void AccessedAndDirtyAreSetByASuccessfulWalkOnly()
    {
        PagingFixture m = new(X86PageTableFormat.X86_64);
        m.Map(UserRw, 0x500_0000, 4096, PageAttributes.UserData);
        ulong pte = 0x1000_3000; // PT[0]
        ulong pde = 0x1000_2000 + (2 * 8);

        // Clear A in the PDE; a user read sets it back and leaves the PTE clean.
        m.Write64(pde, m.Read64(pde) & ~X86PageTableFormat.Accessed);
        Assert.Equal(FaultKind.None, m.Walk(UserRw, AccessType.Read, Privilege.User).Fault);
        Assert.Equal(0x1000_3067UL, m.Read64(pde));
        Assert.Equal(0x8000_0000_0500_0027UL, m.Read64(pte));

        // A faulting access (user fetch from an NX page) changes nothing; a write sets D.
        Assert.Equal(FaultKind.Permission, m.Walk(UserRw, AccessType.Execute, Privilege.User).Fault);
        Assert.Equal(0x8000_0000_0500_0027UL, m.Read64(pte));
        Assert.Equal(FaultKind.None, m.Walk(UserRw, AccessType.Write, Privilege.User).Fault);
        Assert.Equal(0x8000_0000_0500_0067UL, m.Read64(pte));
    }

    private static PagingFixture MatrixMachine(X86PageTableFormat f)
    {
        PagingFixture m = new(f);
        ulong kernelRw = f.Id == MmuFormat.X86_64 || f.Id == MmuFormat.X86_64La57 ? KernelRw : 0xC000_0000;
        ulong kernelRx = f.Id == MmuFormat.X86_64 || f.Id == MmuFormat.X86_64La57 ? KernelRx : 0xC100_0000;
        m.Map(kernelRw, 0x10_0000, 4096, PageAttributes.KernelData);
        m.Map(kernelRx, 0x20_0000, 4096, PageAttributes.KernelText);
        m.Map(UserRw, 0x30_0000, 4096, PageAttributes.UserData);
        m.Map(UserRx, 0x30_1000, 4096, PageAttributes.UserText);
        return m;
    }

    // "rwx/rwx": kernel then user; a letter where the access translates, '-' where it faults.
    private static string Matrix(PagingFixture m, ulong va)
    {
        char[] s = "---/---".ToCharArray();
        AccessType[] accesses = [AccessType.Read, AccessType.Write, AccessType.Execute];
        for (int p = 0; p < 2; p++)
        {
            for (int a = 0; a < 3; a++)
            {
                WalkResult r = m.Walk(va, accesses[a], p == 0 ? Privilege.Kernel : Privilege.User);
                Assert.True(r.Fault is FaultKind.None or FaultKind.Permission, $"{r.Fault} at {va:x}");
                if (r.Fault == FaultKind.None)
                {
                    s[(p * 4) + a] = "rwx"[a];
                }
            }
        }

        return new string(s);
    }

    [Theory]
    [InlineData("none", "rw-/---", "r-x/---", "rw-/rw-", "r-x/r-x")]
    [InlineData("smep", "rw-/---", "r-x/---", "rw-/rw-", "r--/r-x")]
    [InlineData("smap", "rw-/---", "r-x/---", "---/rw-", "--x/r-x")]
    [InlineData("smap+ac", "rw-/---", "r-x/---", "rw-/rw-", "r-x/r-x")]
    [InlineData("smep+smap", "rw-/---", "r-x/---", "---/rw-", "---/r-x")]
    [InlineData("nowp", "rw-/---", "rwx/---", "rw-/rw-", "rwx/r-x")]
    public void PermissionMatrixX86_64(string setup, string kernelRw, string kernelRx, string userRw, string userRx)
    {
        // SDM §4.6: NX pages never execute; SMEP stops kernel fetches from user pages; SMAP stops kernel
        // data accesses to user pages unless RFLAGS.AC; CR0.WP=0 lets the kernel write read-only pages.
        foreach (X86PageTableFormat f in new[] { X86PageTableFormat.X86_64, X86PageTableFormat.X86_64La57, X86PageTableFormat.Pae })
        {
            PagingFixture m = MatrixMachine(f);
            m.Registers.Cr4 |= setup.Contains("smep") ? Cr4Flags.Smep : 0;
            m.Registers.Cr4 |= setup.Contains("smap") ? Cr4Flags.Smap : 0;
            m.Registers.Ac = setup.Contains("+ac");
            m.Registers.WriteProtect = setup != "nowp";
            bool wide = f.Id != MmuFormat.X86Pae;
            Assert.Equal(kernelRw, Matrix(m, wide ? KernelRw : 0xC000_0000));
            Assert.Equal(kernelRx, Matrix(m, wide ? KernelRx : 0xC100_0000));
            Assert.Equal(userRw, Matrix(m, UserRw));
            Assert.Equal(userRx, Matrix(m, UserRx));
        }
    }

    [Fact]
    public void X86_32HasNoNxSoEveryPageExecutes()
    {
        PagingFixture m = MatrixMachine(X86PageTableFormat.X86_32);
        Assert.Equal("rwx/---", Matrix(m, 0xC000_0000));
        Assert.Equal("r-x/---", Matrix(m, 0xC100_0000));
        Assert.Equal("rwx/rwx", Matrix(m, UserRw));
        Assert.Equal("r-x/r-x", Matrix(m, UserRx));
    }

    [Fact]
    public void TableLevelRestrictionsAreAndedAndNxIsOred()
    {
        PagingFixture m = MatrixMachine(X86PageTableFormat.X86_64);
        m.Registers.Cr4 |= Cr4Flags.Smap;
        WalkTrace t = new();
        m.Walk(UserRw, AccessType.Read, Privilege.User, t);
        ulong pml4e = t.Steps[0].TableAddress.Value + ((ulong)t.Steps[0].Index * 8);
        ulong pdpte = t.Steps[1].TableAddress.Value + ((ulong)t.Steps[1].Index * 8);
        ulong pde = t.Steps[2].TableAddress.Value + ((ulong)t.Steps[2].Index * 8);

        // U/S=0 in the PDE: the pages become supervisor pages, so SMAP no longer applies to them.
        m.Write64(pde, m.Read64(pde) & ~X86PageTableFormat.UserSupervisor);
        Assert.Equal("rw-/---", Matrix(m, UserRw));
        m.Write64(pde, m.Read64(pde) | X86PageTableFormat.UserSupervisor);

        // R/W=0 in the PDPTE: no writes below, for anyone (CR0.WP=1).
        m.Write64(pdpte, m.Read64(pdpte) & ~X86PageTableFormat.ReadWrite);
        Assert.Equal("---/r--", Matrix(m, UserRw));
        m.Write64(pdpte, m.Read64(pdpte) | X86PageTableFormat.ReadWrite);

        // XD in the PML4E: nothing below executes.
        m.Write64(pml4e, m.Read64(pml4e) | X86PageTableFormat.NoExecute);
        Assert.Equal("---/r--", Matrix(m, UserRx));
    }

    [Fact]
    public void GlobalNeedsBothGAndCr4Pge()
    {
        PagingFixture m = MatrixMachine(X86PageTableFormat.X86_64);
        Assert.True(m.Walk(KernelRw).Global);
        Assert.False(m.Walk(UserRw).Global);
        m.Registers.Cr4 &= ~Cr4Flags.Pge;
        Assert.False(m.Walk(KernelRw).Global);
    }

    [Fact]
    public void NonCanonicalAddressesFaultBeforeAnyRead()
    {
        PagingFixture m = MatrixMachine(X86PageTableFormat.X86_64);
        WalkResult r = m.Walk(0x0000_8000_0000_0000);
        Assert.Equal(FaultKind.NonCanonical, r.Fault);
        Assert.Equal(0, r.Reads);
        Assert.Equal(FaultKind.NonCanonical, m.Walk(0xFFFF_7FFF_FFFF_F000).Fault);

        // The lowest canonical upper-half address is canonical but unmapped: PML4[256] is empty.
        WalkResult hole = m.Walk(0xFFFF_8000_0000_0000);
        Assert.Equal(FaultKind.Translation, hole.Fault);
        Assert.Equal(4, hole.Level);
        Assert.Equal(1, hole.Reads);

        // LA57 widens the canonical range to bit 56.
        PagingFixture m5 = new(X86PageTableFormat.X86_64La57);
        WalkResult r5 = m5.Walk(0x0000_8000_0000_0000);
        Assert.Equal(FaultKind.Translation, r5.Fault);
        Assert.Equal(5, r5.Level);
        Assert.Equal(FaultKind.NonCanonical, m5.Walk(0x0100_0000_0000_0000).Fault);
        Assert.Equal(FaultKind.NonCanonical, X86PageTableFormat.X86_32.Walk(m.Memory, X86PageTableFormat.X86_32.CreateRegisters(new PhysicalAddress(0x1000)), new VirtualAddress(0x1_0000_0000), AccessType.Read, Privilege.Kernel).Fault);
    }

    [Fact]
    public void ReservedBitsFault()
    {
        PagingFixture m = MatrixMachine(X86PageTableFormat.X86_64);
        WalkTrace t = new();
        m.Walk(KernelRw, AccessType.Read, Privilege.Kernel, t);
        ulong pml4e = t.Steps[0].TableAddress.Value + ((ulong)t.Steps[0].Index * 8);

        // NX without EFER.NXE is a reserved bit (in the 4K leaf of the kernel data page).
        m.Registers.Nxe = false;
        WalkResult nx = m.Walk(KernelRw);
        Assert.Equal(FaultKind.ReservedBit, nx.Fault);
        Assert.Equal(1, nx.Level);
        m.Registers.Nxe = true;

        // PS in a PML4E is reserved.
        m.Write64(pml4e, m.Read64(pml4e) | X86PageTableFormat.PageSize);
        WalkResult ps = m.Walk(KernelRw);
        Assert.Equal(FaultKind.ReservedBit, ps.Fault);
        Assert.Equal(4, ps.Level);

        // A 2 MiB leaf with bit 13 set (an address bit below the page size) is reserved.
        PagingFixture b = new(X86PageTableFormat.X86_64);
        b.Map(KernelRx, 0x100_0000, 2 * ByteSize.MiB, PageAttributes.KernelText);
        b.Walk(KernelRx, AccessType.Read, Privilege.Kernel, t = new WalkTrace());
        ulong pde = t.Steps[2].TableAddress.Value + ((ulong)t.Steps[2].Index * 8);
        b.Write64(pde, b.Read64(pde) | (1UL << 13));
        Assert.Equal(FaultKind.ReservedBit, b.Walk(KernelRx).Fault);
    }

    [Fact]
    public void X86_32WalksFourMegabytePagesOnlyWithPse()
    {
        PagingFixture m = new(X86PageTableFormat.X86_32);
        m.Map(0xC000_0000, 0, 4 * ByteSize.MiB, PageAttributes.KernelData);
        m.Map(0x0804_8000, 0x20_0000, 4096, PageAttributes.UserText);
        WalkTrace t = new();
        WalkResult r = m.Walk(0xC012_3456, AccessType.Write, Privilege.Kernel, t);
        Assert.Equal(FaultKind.None, r.Fault);
        Assert.Equal(0x12_3456UL, r.Translate(new VirtualAddress(0xC012_3456)).Value);
        Assert.Equal(4 * ByteSize.MiB, r.PageSize);

        // PD index 768 holds P|RW|A|D|PS|G for PA 0 (32-bit entry at 0x10000000 + 768*4).
        Assert.Equal([new WalkStep(2, new PhysicalAddress(0x1000_0000), 768, 0x1E3, "leaf")], t.Steps);
        Assert.Equal(0x1E3U, m.Memory.ReadUInt32(new PhysicalAddress(0x1000_0C00)));

        // 0x08048000: PD[32] -> PT at the next frame, PT[72] = PA 0x200000 | P|US|A.
        WalkResult u = m.Walk(0x0804_8010, AccessType.Execute, Privilege.User, t = new WalkTrace());
        Assert.Equal(0x20_0010UL, u.Translate(new VirtualAddress(0x0804_8010)).Value);
        Assert.Equal(
            [
                new WalkStep(2, new PhysicalAddress(0x1000_0000), 32, 0x1000_1067, "table"),
                new WalkStep(1, new PhysicalAddress(0x1000_1000), 72, 0x0020_0025, "leaf"),
            ],
            t.Steps);

        // Without CR4.PSE the PS bit is ignored: the PDE is read as a table pointer to PA 0, which is empty.
        m.Registers.Cr4 &= ~Cr4Flags.Pse;
        WalkResult noPse = m.Walk(0xC012_3456);
        Assert.Equal(FaultKind.Translation, noPse.Fault);
        Assert.Equal(1, noPse.Level);
        Assert.Equal(2, noPse.Reads);

        // With PSE, bits 21:13 of a 4 MiB PDE are reserved (MAXPHYADDR 32: no PSE-36).
        m.Registers.Cr4 |= Cr4Flags.Pse;
        m.Memory.WriteUInt32(new PhysicalAddress(0x1000_0C00), 0x1E3U | (1U << 13));
        Assert.Equal(FaultKind.ReservedBit, m.Walk(0xC012_3456).Fault);
    }

    [Fact]
    public void PaeWalkTakesThePdpteFromTheRegistersLoadedAtCr3()
    {
        PagingFixture m = new(X86PageTableFormat.Pae);

        // Linux preallocates the four PMDs: the 32-byte PDPT is packed at the start of the first table
        // frame and the four PDs take the next four frames; PDPTEs hold P alone (pud_populate).
        Assert.Equal(0x1000_0000UL, m.Table.Root.Value);
        Assert.Equal(5, m.Table.Tables);
        Assert.Equal([0x1000_1001UL, 0x1000_2001UL, 0x1000_3001UL, 0x1000_4001UL], new[] { m.Registers.Pdpte0, m.Registers.Pdpte1, m.Registers.Pdpte2, m.Registers.Pdpte3 });

        m.Map(0xC000_0000, 0x4000_0000, 2 * ByteSize.MiB, PageAttributes.KernelData);
        WalkTrace t = new();
        WalkResult r = m.Walk(0xC000_0ABC, AccessType.Read, Privilege.Kernel, t);
        Assert.Equal(0x4000_0ABCUL, r.Translate(new VirtualAddress(0xC000_0ABC)).Value);
        Assert.Equal(2, r.Level);
        Assert.Equal(1, r.Reads); // the PDPTE comes from a register; only the PDE is read from memory
        Assert.True(t.FirstLevelInRegisters);
        Assert.Equal(
            [
                new WalkStep(3, new PhysicalAddress(0x1000_0000), 3, 0x1000_4001, "table"),
                new WalkStep(2, new PhysicalAddress(0x1000_4000), 0, 0x8000_0000_4000_01E3, "leaf"),
            ],
            t.Steps);

        // Unmapping leaves the preallocated PD in place, so the cached PDPTEs stay right.
        Assert.True(m.Table.Unmap(new VirtualAddress(0xC000_0000), 2 * ByteSize.MiB).Succeeded);
        Assert.Equal(5, m.Table.Tables);
        Assert.Equal(0x1000_4001UL, m.Read64(0x1000_0018));

        // A PDPTE changed in memory is not seen until CR3 is loaded again; then its reserved RW bit faults at level 3.
        m.Map(0xC000_0000, 0x4000_0000, 2 * ByteSize.MiB, PageAttributes.KernelData);
        m.Write64(0x1000_0018, 0x1000_4003);
        Assert.Equal(FaultKind.None, m.Walk(0xC000_0ABC).Fault);
        X86PageTableFormat.Pae.LoadCr3(m.Memory, ref m.Registers, m.Registers.Cr3);
        WalkResult bad = m.Walk(0xC000_0ABC);
        Assert.Equal(FaultKind.ReservedBit, bad.Fault);
        Assert.Equal(3, bad.Level);
        Assert.Equal(0, bad.Reads);
    }
}

using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Riscv;

namespace Vmsplit.Hardware.Tests.Paging;

/// <summary>
/// The step-5 permission matrix: user/kernel × read/write/execute × SUM × MXR over the five legal leaf encodings
/// (RO, RW, X-only, RX, RWX), each with U clear and set, walked through a real 1 GiB Sv39 leaf.
/// </summary>
public sealed class RiscvPermissionTests
{
    private const ulong Root = 0x8000_0000;

    // XWR encodings that are leaves (privileged spec table "Encoding of PTE R/W/X fields").
    private static readonly (string Name, ulong Xwr)[] s_leafKinds =
    [
        ("RO", RiscvPte.R),
        ("RW", RiscvPte.R | RiscvPte.W),
        ("X-only", RiscvPte.X),
        ("RX", RiscvPte.R | RiscvPte.X),
        ("RWX", RiscvPte.R | RiscvPte.W | RiscvPte.X),
    ];

    /// <summary>The rules as the spec's prose states them, written independently of the walker's rights table.</summary>
    private static bool SpecAllows(ulong xwr, bool u, Privilege privilege, AccessType access, bool sum, bool mxr)
    {
        // "U-mode software may only access the page when U=1."
        if (privilege == Privilege.User && !u)
        {
            return false;
        }

        // "Irrespective of SUM, the supervisor may not execute code on pages with U=1"; data needs SUM=1.
        if (privilege == Privilege.Kernel && u && (access == AccessType.Execute || !sum))
        {
            return false;
        }

        bool r = (xwr & RiscvPte.R) != 0;
        bool w = (xwr & RiscvPte.W) != 0;
        bool x = (xwr & RiscvPte.X) != 0;
        return access switch
        {
            AccessType.Read => r || (mxr && x), // MXR: "loads from pages marked either readable or executable"
            AccessType.Write => w,
            _ => x,
        };
    }

    [Fact]
    public void FullMatrixMatchesTheSpecProse()
    {
        PhysicalMemory memory = new();
        RiscvPageTableFormat sv39 = RiscvPageTableFormat.Sv39;
        int checkedCases = 0;
        int allowedCases = 0;
        foreach ((string name, ulong xwr) in s_leafKinds)
        {
            foreach (bool u in new[] { false, true })
            {
                // 1 GiB leaf at 0x80000000: PPN 0x80000 << 10 = 0x20000000, | V|A|D plus XWR and U.
                ulong pte = 0x2000_0000 | RiscvPte.V | RiscvPte.A | RiscvPte.D | xwr | (u ? RiscvPte.U : 0);
                memory.WriteUInt64(new PhysicalAddress(Root), pte);
                foreach (Privilege privilege in new[] { Privilege.User, Privilege.Kernel })
                {
                    foreach (AccessType access in new[] { AccessType.Read, AccessType.Write, AccessType.Execute })
                    {
                        foreach (bool sum in new[] { false, true })
                        {
                            foreach (bool mxr in new[] { false, true })
                            {
                                MmuRegisters regs = sv39.Registers(new PhysicalAddress(Root));
                                regs.Sum = sum;
                                regs.Mxr = mxr;
                                WalkResult r = sv39.Walk(memory, regs, new VirtualAddress(0x1234), access, privilege);
                                bool expected = SpecAllows(xwr, u, privilege, access, sum, mxr);
                                Assert.True(
                                    expected == (r.Fault == FaultKind.None),
                                    $"{name} U={u} {privilege} {access} SUM={sum} MXR={mxr}: expected {(expected ? "ok" : "fault")}, got {r.Fault}");
                                if (!expected)
                                {
                                    Assert.Equal(FaultKind.Permission, r.Fault);
                                }
                                else
                                {
                                    allowedCases++;
                                }

                                // The TLB-hit check agrees with the walk.
                                Assert.Equal(
                                    expected ? FaultKind.None : FaultKind.Permission,
                                    sv39.CheckAccess(RiscvPte.Rights(pte), u, 0, access, privilege, regs));
                                checkedCases++;
                            }
                        }
                    }
                }
            }
        }

        Assert.Equal(5 * 2 * 2 * 3 * 2 * 2, checkedCases);

        // Counted by hand from the rules (4 SUM×MXR combinations per access):
        // U=0, S-mode: reads RO/RW/RX/RWX 4·4 + X-only under MXR 2 = 18; writes RW/RWX 2·4 = 8; execs X/RX/RWX 3·4 = 12 → 38.
        // U=0, U-mode: 0. U=1, U-mode: the same 38 (SUM does not matter in U-mode, MXR does).
        // U=1, S-mode: only the 2 combinations with SUM: reads 4·2 + X-only under MXR 1 = 9; writes 2·2 = 4; execs 0 → 13.
        // 38 + 38 + 13 = 89.
        Assert.Equal(89, allowedCases);
    }

    [Theory]
    [InlineData("RW", false, Privilege.Kernel, AccessType.Write, false, false, FaultKind.None)] // PAGE_KERNEL
    [InlineData("RW", false, Privilege.User, AccessType.Read, false, false, FaultKind.Permission)] // kernel page from U-mode
    [InlineData("RW", true, Privilege.Kernel, AccessType.Read, false, false, FaultKind.Permission)] // user page, SUM clear
    [InlineData("RW", true, Privilege.Kernel, AccessType.Write, true, false, FaultKind.None)] // copy_to_user with SUM set
    [InlineData("RWX", true, Privilege.Kernel, AccessType.Execute, true, true, FaultKind.Permission)] // S never executes U pages
    [InlineData("X-only", false, Privilege.Kernel, AccessType.Read, false, false, FaultKind.Permission)]
    [InlineData("X-only", false, Privilege.Kernel, AccessType.Read, false, true, FaultKind.None)] // MXR
    [InlineData("X-only", true, Privilege.User, AccessType.Read, false, true, FaultKind.None)] // MXR applies to U-mode too
    [InlineData("X-only", true, Privilege.Kernel, AccessType.Read, true, true, FaultKind.None)] // SUM and MXR together
    [InlineData("X-only", true, Privilege.Kernel, AccessType.Read, false, true, FaultKind.Permission)]
    [InlineData("RO", true, Privilege.User, AccessType.Write, false, false, FaultKind.Permission)]
    [InlineData("RX", false, Privilege.Kernel, AccessType.Execute, false, false, FaultKind.None)] // kernel text
    [InlineData("RX", false, Privilege.Kernel, AccessType.Write, false, false, FaultKind.Permission)]
    public void NotableCases(string kind, bool u, Privilege privilege, AccessType access, bool sum, bool mxr, FaultKind expected)
    {
        ulong xwr = s_leafKinds.Single(k => k.Name == kind).Xwr;
        PhysicalMemory memory = new();
        memory.WriteUInt64(new PhysicalAddress(Root), 0x2000_0000 | RiscvPte.V | RiscvPte.A | RiscvPte.D | xwr | (u ? RiscvPte.U : 0));
        MmuRegisters regs = RiscvPageTableFormat.Sv39.Registers(new PhysicalAddress(Root));
        regs.Sum = sum;
        regs.Mxr = mxr;
        Assert.Equal(expected, RiscvPageTableFormat.Sv39.Walk(memory, regs, new VirtualAddress(0x40), access, privilege).Fault);
    }
}

using System.Runtime.CompilerServices;

namespace Vmsplit.Hardware.Paging.Riscv;

/// <summary>
/// satp.MODE values (privileged spec, "Supervisor Address Translation and Protection (satp) Register", table
/// "Encoding of satp MODE field"). RV32 has a one-bit MODE (0 Bare, 1 Sv32); RV64 a four-bit one.
/// </summary>
public enum RiscvSatpMode : byte
{
    Bare = 0,
    Sv32 = 1,
    Sv39 = 8,
    Sv48 = 9,
    Sv57 = 10,
}

/// <summary>
/// Building and taking apart satp. RV32: MODE bit 31, ASID 30:22 (9 bits), PPN 21:0. RV64: MODE 63:60,
/// ASID 59:44 (16 bits), PPN 43:0 (Linux arch/riscv/include/asm/csr.h SATP_MODE_*, SATP_ASID_SHIFT, SATP_PPN).
/// An RV32 satp sits in the low 32 bits of <see cref="MmuRegisters.Satp"/>.
/// </summary>
public static class RiscvSatp
{
    public const int Rv32AsidShift = 22;
    public const uint Rv32AsidMask = 0x1FF;
    public const uint Rv32PpnMask = 0x003F_FFFF;
    public const uint Rv32ModeSv32 = 1U << 31;

    public const int Rv64ModeShift = 60;
    public const int Rv64AsidShift = 44;
    public const ulong Rv64AsidMask = 0xFFFF;
    public const ulong Rv64PpnMask = 0x0000_0FFF_FFFF_FFFF;

    /// <summary>ASIDMAX: 9 bits of ASID on RV32, 16 on RV64.</summary>
    public static int AsidBits(RiscvSatpMode mode) => mode == RiscvSatpMode.Sv32 ? 9 : 16;

    /// <summary>An RV32 satp for Sv32 (or Bare) with the root table at <paramref name="rootPa"/> (4 KiB aligned, below 2^34).</summary>
    public static uint Rv32(bool sv32, uint asid, ulong rootPa)
    {
        ulong ppn = CheckRoot(rootPa, Rv32PpnMask);
        if (asid > Rv32AsidMask)
        {
            throw new ArgumentOutOfRangeException(nameof(asid), $"ASID {asid} does not fit the 9-bit RV32 satp.ASID");
        }

        return (sv32 ? Rv32ModeSv32 : 0) | (asid << Rv32AsidShift) | (uint)ppn;
    }

    /// <summary>An RV64 satp for <paramref name="mode"/> with the root table at <paramref name="rootPa"/> (4 KiB aligned, below 2^56).</summary>
    public static ulong Rv64(RiscvSatpMode mode, uint asid, ulong rootPa)
    {
        if (mode is not (RiscvSatpMode.Bare or RiscvSatpMode.Sv39 or RiscvSatpMode.Sv48 or RiscvSatpMode.Sv57))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), $"{mode} is not an RV64 satp mode");
        }

        ulong ppn = CheckRoot(rootPa, Rv64PpnMask);
        if (asid > Rv64AsidMask)
        {
            throw new ArgumentOutOfRangeException(nameof(asid), $"ASID {asid} does not fit the 16-bit RV64 satp.ASID");
        }

        return ((ulong)mode << Rv64ModeShift) | ((ulong)asid << Rv64AsidShift) | ppn;
    }

    /// <summary>satp for <paramref name="mode"/>: the RV32 layout for Sv32, the RV64 one otherwise.</summary>
    public static ulong Make(RiscvSatpMode mode, uint asid, ulong rootPa) =>
        mode == RiscvSatpMode.Sv32 ? Rv32(true, asid, rootPa) : Rv64(mode, asid, rootPa);

    private static ulong CheckRoot(ulong rootPa, ulong ppnMask)
    {
        if ((rootPa & 0xFFF) != 0 || (rootPa >> 12) > ppnMask)
        {
            throw new ArgumentOutOfRangeException(nameof(rootPa), $"root table {ByteSize.Hex(rootPa)} is not 4 KiB aligned or does not fit satp.PPN");
        }

        return rootPa >> 12;
    }

    /// <summary>The MODE field, read with the register layout of <paramref name="rv32"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RiscvSatpMode Mode(ulong satp, bool rv32) =>
        rv32 ? (((uint)satp & Rv32ModeSv32) != 0 ? RiscvSatpMode.Sv32 : RiscvSatpMode.Bare) : (RiscvSatpMode)(satp >> Rv64ModeShift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Asid(ulong satp, bool rv32) =>
        rv32 ? ((uint)satp >> Rv32AsidShift) & Rv32AsidMask : (uint)((satp >> Rv64AsidShift) & Rv64AsidMask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Ppn(ulong satp, bool rv32) => rv32 ? (uint)satp & Rv32PpnMask : satp & Rv64PpnMask;

    /// <summary>The physical address of the root page table (satp.PPN × 4096).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong RootAddress(ulong satp, bool rv32) => Ppn(satp, rv32) << 12;

    /// <summary>
    /// The registers for a tree rooted at <paramref name="rootPa"/>: satp with the mode and ASID, SUM and MXR
    /// clear (Linux runs with SUM clear outside uaccess), menvcfg.PBMTE set when the mode has Svpbmt, ADUE clear
    /// (Svade: A=0, or D=0 on a store, faults).
    /// </summary>
    public static MmuRegisters Registers(RiscvSatpMode mode, ulong rootPa, uint asid = 0) => new()
    {
        Satp = Make(mode, asid, rootPa),
        Pbmte = mode != RiscvSatpMode.Sv32,
    };

    public static string Describe(ulong satp, bool rv32) =>
        $"MODE={Mode(satp, rv32)} ASID={Asid(satp, rv32)} PPN={ByteSize.Hex(Ppn(satp, rv32))}";
}

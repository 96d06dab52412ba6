using System.Runtime.CompilerServices;

namespace Vmsplit.Hardware.Paging.Arm;

/// <summary>
/// Memory attribute indirection (MAIR): a descriptor's AttrIndx selects one byte of MAIR (ARM DDI 0406C
/// B4.1.104 MAIR0/MAIR1, ARM DDI 0487 D13.2.97 MAIR_EL1). The registers are not in
/// <see cref="MmuRegisters"/>: each format decodes with the value Linux programs.
/// </summary>
public static class ArmMair
{
    /// <summary>
    /// Linux ARMv7 LPAE: MAIR1:MAIR0 = 0xff000004:0xeeaa4400 (arch/arm/mm/proc-v7-3level.S): 0 strongly-ordered,
    /// 1 normal non-cacheable (bufferable), 2 write-through, 3 write-back, 4 device, 7 write-back write-allocate.
    /// </summary>
    public const ulong LinuxLpae = 0xFF00_0004_EEAA_4400;

    /// <summary>
    /// Linux arm64 MAIR_EL1 (arch/arm64/include/asm/memory.h, MT_NORMAL 0 = 0xff, MT_NORMAL_TAGGED 1 = 0xff
    /// without MTE, MT_NORMAL_NC 2 = 0x44, MT_DEVICE_nGnRnE 3 = 0x00, MT_DEVICE_nGnRE 4 = 0x04), plus index 7 =
    /// 0xbb normal write-through, which Linux dropped (MT_NORMAL_WT) and Vmsplit keeps for the neutral type.
    /// </summary>
    public const ulong LinuxArm64 = 0xBB00_0004_0044_FFFF;

    public const int LpaeStronglyOrdered = 0;
    public const int LpaeBufferable = 1;
    public const int LpaeWriteThrough = 2;
    public const int LpaeWriteBack = 3;
    public const int LpaeDevice = 4;
    public const int LpaeWriteAlloc = 7;

    public const int Arm64Normal = 0;
    public const int Arm64NormalNc = 2;
    public const int Arm64DeviceNgnrne = 3;
    public const int Arm64DeviceNgnre = 4;
    public const int Arm64NormalWt = 7;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Attribute(ulong mair, int index) => (byte)(mair >> (8 * index));

    /// <summary>
    /// The neutral memory type of a MAIR attribute byte: high nibble 0 is Device (0x00 nGnRnE, the old
    /// strongly-ordered); otherwise Normal classified by its inner policy (0b0100 non-cacheable, 0b00RW/0b10RW
    /// write-through, 0b01RW/0b11RW write-back).
    /// </summary>
    public static MemoryType Decode(byte attribute)
    {
        if ((attribute & 0xF0) == 0)
        {
            return attribute == 0 ? MemoryType.StronglyOrdered : MemoryType.Device;
        }

        int inner = attribute & 0xF;
        if (inner == 0b0100)
        {
            return MemoryType.NonCacheable;
        }

        return (inner & 0b0100) != 0 ? MemoryType.Normal : MemoryType.WriteThrough;
    }

    public static int LpaeIndex(MemoryType type) => type switch
    {
        MemoryType.WriteThrough => LpaeWriteThrough,
        MemoryType.NonCacheable => LpaeBufferable,
        MemoryType.Device => LpaeDevice,
        MemoryType.StronglyOrdered => LpaeStronglyOrdered,
        _ => LpaeWriteAlloc,
    };

    public static int Arm64Index(MemoryType type) => type switch
    {
        MemoryType.WriteThrough => Arm64NormalWt,
        MemoryType.NonCacheable => Arm64NormalNc,
        MemoryType.Device => Arm64DeviceNgnre,
        MemoryType.StronglyOrdered => Arm64DeviceNgnrne,
        _ => Arm64Normal,
    };
}

using FsCheck.Fluent;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.X86;

namespace Vmsplit.Hardware.Tests.Paging;

/// <summary>
/// The specialised x86 walk against the shared walk loop over <c>Decode</c>: on trees with random mappings
/// and randomly corrupted descriptors, under random register state, both give the same result, leave the
/// same accessed/dirty bits in memory and, when traced, record the same steps (the kernel's CPU traces
/// every walk for its cache model, so the traced specialised walk is the one simulated kernels run).
/// </summary>
public sealed class X86WalkerCrossCheckTests
{
    public static TheoryData<string> Formats() => new() { "x86-32", "x86-pae", "x86-64", "x86-64-la57" };

    // Bits worth flipping: P, RW, US, PWT, PCD, A, D, PS/PAT, G, PAT-large, address bits 13 and 21, NX, and a PDPTE reserved bit.
    private static readonly int[] s_bits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 21, 63, 1];

    private static PagingFixture Build(PageTableFormat f, int seed, out List<ulong> probes)
    {
        Random rng = new(seed);
        PagingFixture m = new(f);
        probes = new List<ulong>();
        ulong[] bases = f.VirtualAddressBits > 32 ? [0x40_0000, 0x7F00_0000_0000 & ((1UL << (f.VirtualAddressBits - 1)) - 1), 0xC000_0000] : [0x40_0000, 0x8000_0000, 0xC000_0000];
        foreach (ulong b in bases)
        {
            ulong size = f.Geometry.PageSizes[rng.Next(f.Geometry.PageSizes.Length - (f.Geometry.PageSizes.Length > 2 ? 1 : 0))];
            size = Math.Min(size, 4 * ByteSize.MiB);
            ulong va = b & ~(size - 1);
            PageAttributes a = new((PagePermissions)rng.Next(1, 8), rng.Next(2) == 0, rng.Next(2) == 0);
            m.Map(va, 0x2000_0000 + (ulong)rng.Next(0, 64) * size, size, a);
            probes.Add(va + ((ulong)rng.Next(0, (int)(size / 8)) * 8));
        }

        // Corrupt a few descriptors on the probes' paths.
        for (int c = 0; c < 3; c++)
        {
            WalkTrace t = new();
            f.Walk(m.Memory, m.Registers, new VirtualAddress(probes[rng.Next(probes.Count)]), AccessType.Read, Privilege.Kernel, t);
            WalkStep s = t.Steps[rng.Next(t.Steps.Count)];
            int entrySize = f.Geometry[f.Geometry.IndexOfLevel(s.Level)].EntrySize;
            ulong at = s.TableAddress.Value + ((ulong)s.Index * (ulong)entrySize);
            int bit = s_bits[rng.Next(s_bits.Length)];
            if (entrySize == 4)
            {
                m.Memory.WriteUInt32(new PhysicalAddress(at), m.Memory.ReadUInt32(new PhysicalAddress(at)) ^ (1U << (bit & 31)));
            }
            else
            {
                m.Write64(at, m.Read64(at) ^ (1UL << bit));
            }
        }

        m.Registers.Nxe = f.Id != MmuFormat.X86_32 && rng.Next(4) != 0;
        m.Registers.Cr4 ^= rng.Next(4) == 0 ? Cr4Flags.Pse | Cr4Flags.Pge : 0;
        m.Registers.Cr4 |= rng.Next(2) == 0 ? Cr4Flags.Smep : 0;
        m.Registers.Cr4 |= rng.Next(2) == 0 ? Cr4Flags.Smap : 0;
        m.Registers.Ac = rng.Next(2) == 0;
        m.Registers.WriteProtect = rng.Next(4) != 0;
        return m;
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void FastWalkAgreesWithTheSharedLoop(string name)
    {
        PageTableFormat f = PageTableFormat.Parse(name);
        PropertyCheck.ForAll(Gen.Choose(0, int.MaxValue), seed =>
        {
            PagingFixture fast = Build(f, seed, out List<ulong> probes);
            PagingFixture traced = Build(f, seed, out _);
            PagingFixture shared = Build(f, seed, out _);
            X86PageTableFormat x86 = (X86PageTableFormat)f;
            Random rng = new(seed ^ 0x5A5A);
            foreach (ulong va in probes)
            {
                for (int n = 0; n < 3; n++)
                {
                    AccessType access = (AccessType)rng.Next(3);
                    Privilege privilege = (Privilege)rng.Next(2);
                    WalkResult a = fast.Walk(va, access, privilege);
                    WalkTrace trace = new();
                    WalkResult b = x86.GenericWalk(shared.Memory, shared.Registers, new VirtualAddress(va), access, privilege, trace);
                    WalkTrace fastTrace = new();
                    WalkResult c = traced.Walk(va, access, privilege, fastTrace);
                    if (!Same(c, a) || fastTrace.Root != trace.Root || fastTrace.RootValue != trace.RootValue
                        || fastTrace.FirstLevelInRegisters != trace.FirstLevelInRegisters || !fastTrace.Steps.SequenceEqual(trace.Steps))
                    {
                        return false;
                    }

                    if (!Same(a, b))
                    {
                        return false;
                    }

                    foreach (WalkStep s in trace.Steps)
                    {
                        ulong at = s.TableAddress.Value + ((ulong)s.Index * 8);
                        if (f.Id == MmuFormat.X86_32)
                        {
                            at = s.TableAddress.Value + ((ulong)s.Index * 4);
                        }

                        if (fast.Memory.ReadUInt32(new PhysicalAddress(at)) != shared.Memory.ReadUInt32(new PhysicalAddress(at)))
                        {
                            return false;
                        }
                    }
                }
            }

            return true;
        }, maxTest: 150);
    }

    private static bool Same(WalkResult a, WalkResult b) =>
        a.Fault == b.Fault && a.Level == b.Level && a.Reads == b.Reads && a.Descriptor == b.Descriptor
        && a.PageBase == b.PageBase && a.FrameBase == b.FrameBase && a.PageSize == b.PageSize && a.Rights == b.Rights
        && a.User == b.User && a.Global == b.Global && a.MemoryType == b.MemoryType;
}

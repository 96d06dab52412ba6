using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Core;

/// <summary>A kernel range translatable while user code runs, with what it grants.</summary>
public sealed record ExposedRange(ulong Start, ulong End, string Perms, string Root);

/// <summary>What the isolation audit found for one design.</summary>
public sealed record AuditResult(string Design, IReadOnlyList<ExposedRange> ExposedKernelRanges, ulong ReachableUserBytes, ulong UserBytesChecked, long PageTableBytes)
{
    public ulong ExposedKernelBytes
    {
        get
        {
            ulong sum = 0;
            foreach (ExposedRange r in ExposedKernelRanges)
            {
                sum += r.End - r.Start;
            }

            return sum;
        }
    }
}

/// <summary>
/// The isolation audit (the Meltdown surface and the kernel's reach into user memory), computed from the
/// tables the hardware would use: every kernel leaf reachable from the roots loaded while user code
/// runs, and every user page a kernel-mode access (outside uaccess, with the design's PAN state)
/// translates to the user's own frame.
/// </summary>
public static class IsolationAudit
{
    public static AuditResult Run(SimKernel k, ulong userBytes = 64 * 1024)
    {
        Process p = k.CreateProcess();
        VirtualAddress region = k.MapRegion(p, userBytes, VmFlags.Read | VmFlags.Write);
        k.Start(p);
        k.UserTouch(p, region, userBytes, write: true);

        List<ExposedRange> exposed = new();
        foreach ((PageTable tree, string root, ulong vaBase) in k.Isolation.LiveRootsInUserMode(p))
        {
            foreach (PageTableLookup leaf in tree.Leaves())
            {
                // a TTBR1 tree (vaBase != 0) holds kernel addresses only, placed at the top of the space
                ulong va = vaBase != 0 ? leaf.PageBase.Value | vaBase : Canonical(k, leaf.PageBase.Value);
                if (leaf.Attributes.User || vaBase == 0 && va < k.Layout.TaskSize && !IsKernelVa(k, va))
                {
                    continue;
                }

                Add(exposed, va, leaf.PageSize, leaf.Attributes.ToString().Replace(" kernel", "", StringComparison.Ordinal), root);
            }
        }

        exposed.Sort((a, b) => a.Start.CompareTo(b.Start));

        // In the kernel, outside uaccess: which user pages does a kernel data access reach?
        k.EnterKernel();
        ulong reachable = 0;
        for (ulong off = 0; off < userBytes; off += 4096)
        {
            VirtualAddress va = region + off;
            PageTableLookup user = p.Tables.Lookup(va);
            WalkResult w = k.Cpu.Mmu.WalkUncounted(va, AccessType.Read, Privilege.Kernel);
            if (!w.IsFault && user.Found && w.Translate(va) == user.Translate(va))
            {
                reachable += 4096;
            }
        }

        k.ExitKernel();
        long tables = k.Isolation.ProcessTableBytes(p);
        k.DestroyProcess(p);
        return new AuditResult(k.Design.Name, Merge(exposed), reachable, userBytes, tables);
    }

    private static bool IsKernelVa(SimKernel k, ulong va) =>
        va >= k.Layout.TaskSize || k.Isolation.SeparatesKernelAddressSpace;

    private static ulong Canonical(SimKernel k, ulong va)
    {
        int bits = k.Format.VirtualAddressBits;
        if (bits >= 64 || bits <= 32)
        {
            return va;
        }

        return (va & (1UL << (bits - 1))) != 0 ? va | ~((1UL << bits) - 1) : va;
    }

    private static void Add(List<ExposedRange> list, ulong va, ulong size, string perms, string root) =>
        list.Add(new ExposedRange(va, va + size, perms, root));

    private static List<ExposedRange> Merge(List<ExposedRange> ranges)
    {
        List<ExposedRange> merged = new();
        foreach (ExposedRange r in ranges)
        {
            if (merged.Count > 0 && merged[^1].End == r.Start && merged[^1].Perms == r.Perms && merged[^1].Root == r.Root)
            {
                merged[^1] = merged[^1] with { End = r.End };
            }
            else
            {
                merged.Add(r);
            }
        }

        return merged;
    }
}

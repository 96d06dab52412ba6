namespace Vmsplit.Kernel.Asid;

/// <summary>
/// Linux's RISC-V policy (arch/riscv/mm/context.c): the generation allocator only when the hart has more
/// than twice as many ASIDs as there are CPUs (<c>num_asids &gt; 2 * num_possible_cpus()</c>); otherwise
/// every mm runs as ASID 0 and each switch flushes that ASID after writing satp (set_mm_noasid).
/// </summary>
public sealed class RiscvAsidAllocator : IAsidAllocator
{
    private readonly AsidGenerations? _space;
    private readonly MmContext?[] _loaded;
    private long _noAsidFlushes;

    /// <param name="cpus">Possible harts.</param>
    /// <param name="asidBits">ASIDLEN as probed by writing ones into satp.ASID: 0 to 9 (Sv32) or 16 (RV64).</param>
    public RiscvAsidAllocator(int cpus, int asidBits)
    {
        if (cpus < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(cpus), cpus, "at least one hart");
        }

        if (asidBits is < 0 or > 16)
        {
            throw new ArgumentOutOfRangeException(nameof(asidBits), asidBits, "satp.ASID is at most 16 bits");
        }

        AsidBits = asidBits;
        long numAsids = asidBits == 0 ? 0 : 1L << asidBits;
        if (numAsids > 2L * cpus)
        {
            _space = new AsidGenerations(cpus, asidBits, 1, pinning: false);
        }

        _loaded = new MmContext?[cpus];
    }

    public int CpuCount => _loaded.Length;

    public int AsidBits { get; }

    /// <summary>The <c>use_asid_allocator</c> static key.</summary>
    public bool UsesAllocator => _space is not null;

    public ulong Generation => _space?.Generation ?? 0;

    public long Rollovers => _space?.Rollovers ?? 0;

    public long FlushCount => (_space?.FlushCount ?? 0) + _noAsidFlushes;

    public ushort AsidOf(MmContext mm) => _space?.HardwareAsid(mm.ContextId) ?? 0;

    public AsidSwitch SwitchMm(int cpu, MmContext next)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (ReferenceEquals(_loaded[cpu], next))
        {
            ushort same = AsidOf(next);
            return AsidSwitch.Skipped(same, same);
        }

        _loaded[cpu] = next;
        if (_space is null)
        {
            // set_mm_noasid(): satp with ASID 0, then local_flush_tlb_all_asid(0) (older kernels: a full sfence.vma).
            _noAsidFlushes++;
            return new AsidSwitch
            {
                WritesRoot = true,
                Asid = 0,
                UserAsid = 0,
                Flush = SwitchFlush.Asid,
                FlushAfterRootWrite = true,
                SlowPath = true,
            };
        }

        (ulong contextId, bool flush, bool rollover, bool slow) = _space.Switch(cpu, next);
        ushort asid = _space.HardwareAsid(contextId);
        return new AsidSwitch
        {
            WritesRoot = true,
            Asid = asid,
            UserAsid = asid,
            Flush = flush ? SwitchFlush.All : SwitchFlush.None,
            FlushAfterRootWrite = true,
            Rollover = rollover,
            SlowPath = slow,
        };
    }
}

namespace Vmsplit.Hardware.Mmu;

/// <summary>
/// The CPUs an inner-shareable TLB maintenance operation reaches (ARM ARM B4.2.2: the IS forms apply
/// to every PE in the inner-shareable domain). x86 and RISC-V have no broadcast: their kernels send
/// IPIs, which the kernel layer models as a local operation on each target CPU.
/// </summary>
public sealed class ShareabilityDomain
{
    private readonly List<MemoryManagementUnit> _cpus = new();

    public IReadOnlyList<MemoryManagementUnit> Cpus => _cpus;

    public void Add(MemoryManagementUnit cpu)
    {
        if (cpu.Domain is not null && cpu.Domain != this)
        {
            throw new InvalidOperationException($"CPU {cpu.Cpu} already belongs to another shareability domain");
        }

        if (!_cpus.Contains(cpu))
        {
            _cpus.Add(cpu);
            cpu.Domain = this;
        }
    }
}

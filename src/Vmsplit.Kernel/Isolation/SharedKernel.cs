using Vmsplit.Hardware;
using Vmsplit.Kernel.Arch;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Isolation;

/// <summary>
/// The classic design: the kernel mapped in every process with global entries (VMSPLIT_xG, x86-64 and
/// RISC-V without isolation). Entry and exit change nothing but the PAN state.
/// </summary>
public sealed class SharedKernel(SimKernel kernel, ArchMm arch) : IsolationPolicy(kernel, arch)
{
    public override bool IsGlobal(VirtualAddress va) => true;

    public override void Enter(Process p, bool exception) => Kernel.Pan.OnEntry(exception);

    public override void Exit(Process p) => Kernel.Pan.OnExit();
}

using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Arch;
using Vmsplit.Kernel.Arch.Arm;
using Vmsplit.Kernel.Arch.Arm64;
using Vmsplit.Kernel.Arch.Riscv;
using Vmsplit.Kernel.Arch.X86;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Isolation;
using Vmsplit.Kernel.Uaccess;

namespace Vmsplit.Kernel.Designs;

/// <summary>The policies one design runs with, built once at boot.</summary>
/// <param name="Arch">The architecture's mm (roots, switch_mm, the flush family, the ASID allocator).</param>
/// <param name="Isolation">The isolation scheme (trees, global bit, entry and exit, live roots).</param>
/// <param name="UserPages">The user-access strategy (how uaccess reaches a user page).</param>
/// <param name="Pan">The PAN mechanism (user access closed in the kernel outside uaccess).</param>
public sealed record CompiledDesign(ArchMm Arch, IsolationPolicy Isolation, IUserPageAccess UserPages, PanPolicy Pan);

/// <summary>
/// Turns a parsed <see cref="DesignSpec"/> into the objects the kernel runs with: the only place that
/// switches on the design (compare Ryujinx's MemoryManagerType, switched on once where the memory manager
/// is built). Everything after boot calls the objects it got.
/// </summary>
public static class DesignCompiler
{
    public static CompiledDesign Compile(SimKernel kernel)
    {
        DesignSpec d = kernel.Design;
        ArchMm arch;
        IsolationPolicy isolation;
        ArmFourGFourG? fourG = null;
        PanPolicy? pan = null;
        switch (kernel.Format.Id.Family())
        {
            case ArchFamily.Arm32:
                {
                    ArmMm arm = new(kernel);
                    arch = arm;
                    pan = d.Pan switch
                    {
                        PanKind.ArmDomain => new ArmDomainPan(kernel),
                        PanKind.ArmTtbr0 => new ArmTtbr0Pan(kernel, arm),
                        _ => null,
                    };
                    isolation = d.Scheme switch
                    {
                        IsolationScheme.Classic => new SharedKernel(kernel, arm),
                        IsolationScheme.FourGFourG => fourG = new ArmFourGFourG(kernel, arm),
                        _ => throw Unsupported(kernel),
                    };
                    break;
                }

            case ArchFamily.Arm64:
                {
                    Arm64Mm arm64 = new(kernel, kpti: d.Scheme == IsolationScheme.Kpti);
                    arch = arm64;
                    pan = d.Pan switch
                    {
                        PanKind.ArmHardware => new Arm64HardwarePan(kernel, arm64),
                        PanKind.Arm64Ttbr0 => new Arm64SwTtbr0Pan(kernel, arm64),
                        _ => null,
                    };
                    isolation = d.Scheme switch
                    {
                        IsolationScheme.Classic => new SharedKernel(kernel, arm64),
                        IsolationScheme.Kpti => new Arm64Kpti(kernel, arm64),
                        _ => throw Unsupported(kernel),
                    };
                    break;
                }

            case ArchFamily.X86:
                {
                    X86Mm x86 = new(kernel, pcid: d.Pcid, pti: d.Scheme == IsolationScheme.Kpti);
                    arch = x86;
                    pan = d.Pan == PanKind.X86Smap ? new X86SmapPan(kernel) : null;
                    isolation = d.Scheme switch
                    {
                        IsolationScheme.Classic => new SharedKernel(kernel, x86),
                        IsolationScheme.Kpti when d.KaiserV1 => new KaiserV1(kernel, x86),
                        IsolationScheme.Kpti => new X86Pti(kernel, x86, d.GlobalEntryPages),
                        IsolationScheme.X86FourGFourG => new X86FourGFourG(kernel, x86),
                        _ => throw Unsupported(kernel),
                    };
                    break;
                }

            default:
                {
                    RiscvMm riscv = new(kernel);
                    arch = riscv;
                    pan = d.Pan == PanKind.RiscvSum ? new RiscvSumPan(kernel) : null;
                    isolation = d.Scheme == IsolationScheme.Classic ? new SharedKernel(kernel, riscv) : throw Unsupported(kernel);
                    break;
                }
        }

        IUserPageAccess pages = d.Uaccess switch
        {
            UaccessStrategy.Direct => new DirectUserAccess(kernel),
            UaccessStrategy.PinKmap => new PinKmapUserAccess(kernel),
            UaccessStrategy.AtomicKmap => new AtomicKmapUserAccess(kernel),
            UaccessStrategy.Ttbr0Switch => new Ttbr0SwitchUserAccess(kernel, fourG ?? throw Unsupported(kernel)),
            UaccessStrategy.Trampoline => new TrampolineUserAccess(kernel, fourG ?? throw Unsupported(kernel)),
            _ => new HybridUserAccess(new Ttbr0SwitchUserAccess(kernel, fourG ?? throw Unsupported(kernel)), new PinKmapUserAccess(kernel), d.HybridThresholdBytes),
        };
        if (pan is null && d.Pan != PanKind.None)
        {
            throw Unsupported(kernel);
        }

        return new CompiledDesign(arch, isolation, pages, pan ?? new NoPan(kernel));
    }

    private static KernelSetupException Unsupported(SimKernel k) =>
        new($"design {k.Design.Name} has no implementation on {k.Format.Name}");
}

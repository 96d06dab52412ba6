using System.Text.RegularExpressions;

namespace Vmsplit.Kernel.Tests.Core;

/// <summary>
/// The kernel core (processes, system calls, faults, footprints) calls the compiled policies and never asks which
/// design or architecture it runs: no design enum, no architecture family or format test, no downcast to a room.
/// </summary>
public class DesignNeutralCoreTests
{
    private static readonly Regex s_branch = new(
        @"\b(IsolationScheme|UaccessStrategy|PanKind|KernelImagePlacement|ArchFamily)\.\w+|\.Family\(\)|MmuFormat\.\w+\s*(==|!=|=>)|KernelArch\.\w+\s*(==|!=|=>)|\b(is|as)\s+(not\s+)?(X86Mm|ArmMm|Arm64Mm|RiscvMm)\b|Design\.(Isolation|Uaccess|Pan|ImagePlacement|Options|Base)\b",
        RegexOptions.CultureInvariant);

    [Fact]
    public void NoLineOfTheCoreBranchesOnTheDesignOrTheArchitecture()
    {
        string core = Path.Combine(RepoRoot(), "src", "Vmsplit.Kernel", "Core");
        List<string> found = [];
        foreach (string file in Directory.GetFiles(core, "*.cs"))
        {
            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                if (s_branch.IsMatch(lines[i]))
                {
                    found.Add($"{Path.GetFileName(file)}:{i + 1}: {lines[i].Trim()}");
                }
            }
        }

        Assert.True(found.Count == 0, string.Join("\n", found));
    }

    [Fact]
    public void ThePatternCatchesADowncastToARoom()
    {
        Assert.Matches(s_branch, "if (Arch is not X86Mm x86)");
        Assert.Matches(s_branch, "if (k.Format.Id.Family() != ArchFamily.X86)");
        Assert.Matches(s_branch, "if (Design.ImagePlacement == KernelImagePlacement.LinearMap)");
        Assert.DoesNotMatch(s_branch, "Isolation.Enter(p, exception);");
    }

    private static string RepoRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Vmsplit.slnx")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException("Vmsplit.slnx not found above " + AppContext.BaseDirectory);
    }
}

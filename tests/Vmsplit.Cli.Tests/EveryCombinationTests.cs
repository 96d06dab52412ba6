using System.Text.RegularExpressions;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;
using Vmsplit.Workloads;

namespace Vmsplit.Cli.Tests;

/// <summary>
/// No command may end in "internal error" for input the parsers accept: every shipped CPU profile, with every
/// architecture it runs, every design name the parser accepts there (each base with every set of options, in
/// the parser's option order) and every built-in and shipped workload, run through <c>vmsplit compare</c> for a
/// few operations. The names come from the registries themselves (<see cref="CpuProfiles.Shipped"/>,
/// <see cref="MachineSpec.ArchesOf"/>, <see cref="DesignRegistry"/>, <see cref="DesignSpec.Options"/>,
/// <see cref="BuiltinWorkloads.Suite"/>), so a new profile, architecture, base, option or workload is covered
/// without touching this test.
/// </summary>
public class EveryCombinationTests
{
    private const string Ops = "3";

    /// <summary>Every design name the parser accepts on a format, before any CPU is asked: base, then options in <see cref="DesignSpec.Options"/> order.</summary>
    public static IReadOnlyList<string> DesignNames(MmuFormat format)
    {
        List<string> names = [];
        foreach (string b in DesignRegistry.BaseNames)
        {
            for (int mask = 0; mask < 1 << DesignSpec.Options.Length; mask++)
            {
                List<string> parts = [b];
                for (int i = 0; i < DesignSpec.Options.Length; i++)
                {
                    if ((mask & (1 << i)) != 0)
                    {
                        parts.Add(DesignSpec.Options[i]);
                    }
                }

                string name = string.Join('+', parts);
                if (DesignSpec.TryParse(name, format, out _, out _))
                {
                    names.Add(name);
                }
            }
        }

        return names;
    }

    /// <summary>Every (profile, architecture) pair a <c>--machine</c> and <c>--arch</c> accept.</summary>
    public static IEnumerable<(CpuProfile Profile, KernelArch Arch)> Machines() =>
        CpuProfiles.Shipped.SelectMany(p => MachineSpec.ArchesOf(p).Select(a => (p, a)));

    public static TheoryData<string, string> MachineRows()
    {
        TheoryData<string, string> rows = new();
        foreach ((CpuProfile p, KernelArch a) in Machines())
        {
            rows.Add(p.Id, a.Name());
        }

        return rows;
    }

    private static string Workloads() =>
        string.Join(',', BuiltinWorkloads.Suite.Concat(BuiltinWorkloads.MultiCpu).Append("munmap-mt:40").Append("mprotect-mt:40").Append("madvise-mt:40").Concat(Directory.GetFiles(RepoFiles.PathOf("workloads"), "*.yaml").Order(StringComparer.Ordinal)));

    [Theory]
    [MemberData(nameof(MachineRows))]
    public void EveryAcceptedDesignAndWorkloadRunsOnTheMachine(string profileId, string archName) =>
        RunsEverywhere(profileId, CpuProfiles.Find(profileId)!, archName);

    /// <summary>
    /// What no shipped CPU reaches runs on a user's profile file (<c>--machine FILE</c>), derived from the
    /// architecture's default profile: an architecture none of them has the MMU for (x86-64-la57, Sv32, Sv48,
    /// Sv57), and a design part needing a feature none of them has (ARMv8.1 hardware PAN on aarch64).
    /// </summary>
    public static TheoryData<string, string, string> ProfileFileRows()
    {
        TheoryData<string, string, string> rows = new();
        foreach (KernelArch a in Enum.GetValues<KernelArch>())
        {
            if (!CpuProfiles.Shipped.Any(p => MachineSpec.ArchesOf(p).Contains(a)))
            {
                rows.Add(a.Info().DefaultProfile, a.Name(), "");
            }
        }

        foreach (PanRegistration pan in DesignRegistry.PanKinds)
        {
            if (pan.Needs is FeatureNeed need
                && !CpuProfiles.Shipped.Any(p => p.Has(need.Feature) && p.MmuFormats.Any(pan.Formats.Contains)))
            {
                KernelArch a = KernelArchitectures.OfFormat(pan.Formats[^1]);
                rows.Add(a.Info().DefaultProfile, a.Name(), need.Feature.Key());
            }
        }

        return rows;
    }

    [Theory]
    [MemberData(nameof(ProfileFileRows))]
    public void EveryAcceptedDesignRunsOnAProfileFileForWhatNoShippedCpuHas(string baseProfile, string archName, string feature)
    {
        KernelArch arch = KernelArchitectures.Parse(archName);
        string file = DerivedProfile(baseProfile, arch, feature);
        CpuProfile profile = CpuProfileLoader.LoadFile(file);
        List<string> ran = RunsEverywhere(file, profile, archName);
        if (feature.Length > 0)
        {
            Assert.Contains(ran, n => DesignSpec.Parse(n, Scenario.FormatOf(MachineSpec.For(profile, arch, 2 * ByteSize.GiB))).Pan != PanKind.None);
        }
    }

    /// <summary>A shipped profile's YAML with the architecture's MMU format added and a feature declared present (with the costs it brings, as assumptions).</summary>
    private static string DerivedProfile(string baseProfile, KernelArch arch, string feature)
    {
        CpuProfile shipped = CpuProfiles.Find(baseProfile)!;
        List<string> lines = [.. CpuProfiles.ShippedText(baseProfile)!.Split('\n')];
        int formats = lines.FindIndex(l => l.StartsWith("mmuFormats:", StringComparison.Ordinal));
        lines[formats] = $"mmuFormats: [{string.Join(", ", shipped.MmuFormats.Append(arch.Info().Format).Distinct())}]";
        if (feature.Length > 0)
        {
            CpuFeature f = Enum.GetValues<CpuFeature>().Single(x => x.Key() == feature);
            int at = lines.FindIndex(l => l.TrimStart().StartsWith(feature + ":", StringComparison.Ordinal));
            string declared = $"  {feature}: {{ value: true, assumption: \"a CPU otherwise like the {baseProfile} that has it\" }}";
            if (at >= 0)
            {
                lines[at] = declared;
            }
            else
            {
                lines.Insert(lines.IndexOf("features:") + 1, declared);
            }

            HashSet<CpuFeature> with = [.. shipped.Features, f];
            int costs = lines.IndexOf("costs:");
            foreach (PrimitiveCost c in PrimitiveCostExtensions.Required(shipped.Architecture, with).Where(c => !shipped.Has(c)))
            {
                lines.Insert(costs + 1, $"  {c.Key()}: {{ value: 10, assumption: \"a test value\" }}");
            }
        }

        string path = Path.Combine(Directory.CreateTempSubdirectory().FullName, $"{baseProfile}-{arch.Name()}{(feature.Length > 0 ? "-" + feature : "")}.yaml");
        File.WriteAllText(path, string.Join('\n', lines));
        return path;
    }

    /// <summary>Runs every accepted design with every workload on one machine; returns the design names that ran.</summary>
    private static List<string> RunsEverywhere(string machine, CpuProfile profile, string archName)
    {
        KernelArch arch = KernelArchitectures.Parse(archName);
        MmuFormat format = Scenario.FormatOf(MachineSpec.For(profile, arch, 2 * ByteSize.GiB));
        Dictionary<DesignSpec, string> distinct = [];
        List<string> accepted = [];
        IReadOnlyList<string> names = DesignNames(format);
        int refused = 0;
        foreach (string name in names)
        {
            if (DesignSpec.TryParse(name, format, profile, out DesignSpec? d, out string why))
            {
                // Names that mean the same design (4g4g and 4g4g+pin-kmap, +kimage-vmalloc+kimage-permuted and
                // +kimage-permuted) run once: the kernel receives the parsed design, not the name.
                if (distinct.TryAdd(d! with { Name = "", Notes = [] }, name))
                {
                    accepted.Add(name);
                }

                continue;
            }

            // The one documented rule that refuses a name the format accepts: a CPU feature the design needs
            // (docs/designs.md); it is refused before any run, in one line, exit code 2.
            refused++;
            Assert.Matches($"^design '{System.Text.RegularExpressions.Regex.Escape(name)}': .* needs .*, which the {profile.Id} CPU \\(.*\\) lacks", why);
            (int code, string output, string err) = CliHarness.Run("compare", "--machine", machine, "--arch", archName, "--designs", name, "--workloads", "null", "--ops", Ops);
            Assert.True(code == 2, $"{name}: exit {code}: {err}");
            Assert.Equal("", output);
            Assert.Equal("vmsplit: " + why, err.TrimEnd('\n'));
        }

        // The documented rule that refuses a whole architecture before any run: a layout Linux does not document.
        MachineSpec m = MachineSpec.For(profile, arch, 2 * ByteSize.GiB);
        string? noLayout = null;
        try
        {
            Scenario.LayoutFor(m, DesignSpec.Parse(accepted[0], format, profile));
        }
        catch (LabException e) when (e.Message.Contains(": Linux documents no ", StringComparison.Ordinal))
        {
            noLayout = e.Message;
        }

        if (noLayout is not null)
        {
            (int code, string output, string err) = CliHarness.Run("compare", "--machine", machine, "--arch", archName, "--designs", accepted[0], "--workloads", "null", "--ops", Ops);
            Assert.Equal(2, code);
            Assert.Equal("", output);
            Assert.Equal("vmsplit: " + noLayout, err.TrimEnd('\n'));
            return [];
        }

        Assert.NotEmpty(accepted);
        Assert.True(distinct.Count + refused <= names.Count);

        (int all, _, string allErr) = CliHarness.Run("compare", "--machine", machine, "--arch", archName, "--designs", string.Join(',', accepted), "--workloads", Workloads(), "--ops", Ops);
        if (all == 0)
        {
            // and on three CPUs with the coherence checker and no randomisation (--randomize-va-space 0): every run ends
            // in a result with no stale translation
            (int smp, string json, string smpErr) = CliHarness.Run("compare", "--machine", machine, "--arch", archName, "--designs", string.Join(',', accepted), "--workloads", Workloads(), "--ops", Ops, "--cpus", "3", "--check", "--randomize-va-space", "0", "--format", "json");
            Assert.True(smp == 0, $"{profile.Id} {archName} --cpus 3 --check: {smpErr.TrimEnd()}");
            MatchCollection stale = Regex.Matches(json, "\"staleTranslations\": (\\d+)");
            Assert.NotEmpty(stale);
            Assert.All(stale, s => Assert.Equal("0", s.Groups[1].Value));
            return accepted;
        }

        // Name every design that fails alone, not only the first.
        List<string> failures = [];
        foreach (string name in accepted)
        {
            (int code, _, string err) = CliHarness.Run("compare", "--machine", machine, "--arch", archName, "--designs", name, "--workloads", Workloads(), "--ops", Ops);
            if (code != 0)
            {
                failures.Add($"{name}: exit {code}: {err.TrimEnd()}");
            }
        }

        Assert.Fail($"{profile.Id} {archName}: {allErr.TrimEnd()}\n" + string.Join('\n', failures));
        return accepted;
    }

    [Theory]
    [InlineData("skylake", "x86-64")]
    [InlineData("cortex-a72", "aarch64")]
    [InlineData("sifive-u74", "riscv-sv39")]
    public void PinKmapOnA64BitKernelPinsThroughTheVmemmap(string machine, string arch)
    {
        // once refused (mem_map was kept for 32-bit kernels only); get_user_pages now counts in the vmemmap
        (int code, string output, string err) = CliHarness.Run("compare", "--machine", machine, "--arch", arch, "--designs", "classic,classic+pin-kmap", "--workloads", "read1", "--ops", Ops, "--format", "json");
        Assert.True(code == 0, err);
        Assert.Matches("\"pinnedPages\": [1-9]", output);
    }

    [Fact]
    public void TheEnumerationCoversEveryRegisteredPart()
    {
        // A base, option, scheme, strategy, PAN mechanism or image placement that no accepted combination
        // reaches is either dead or missing from the machines: both are defects this test names.
        HashSet<string> bases = [];
        HashSet<string> options = [];
        HashSet<object> parts = [];
        HashSet<string> profiles = [];
        HashSet<KernelArch> arches = [];
        HashSet<(IsolationScheme, MmuFormat)> schemeFormats = [];
        List<(CpuProfile, KernelArch)> machines = [.. Machines()];
        foreach (object[] row in ProfileFileRows())
        {
            KernelArch a = KernelArchitectures.Parse((string)row[1]);
            machines.Add((CpuProfileLoader.LoadFile(DerivedProfile((string)row[0], a, (string)row[2])), a));
        }

        foreach ((CpuProfile p, KernelArch a) in machines)
        {
            MmuFormat format = Scenario.FormatOf(MachineSpec.For(p, a, 2 * ByteSize.GiB));
            foreach (string name in DesignNames(format))
            {
                if (!DesignSpec.TryParse(name, format, p, out DesignSpec? d, out _))
                {
                    continue;
                }

                if (CpuProfiles.Find(p.Id) == p)
                {
                    profiles.Add(p.Id);
                }

                arches.Add(a);
                string[] split = name.Split('+');
                bases.Add(split[0]);
                options.UnionWith(split[1..]);
                parts.UnionWith([d!.Scheme, d.Uaccess, d.Pan, d.ImagePlacement]);
                schemeFormats.Add((d.Scheme, format));
            }
        }

        // every implementation of every scheme (4g4g: LPAE and short descriptors) runs on some machine
        foreach (SchemeRegistration scheme in DesignRegistry.Schemes)
        {
            foreach (SchemeImplementation implementation in scheme.Implementations)
            {
                Assert.True(
                    implementation.Formats is null || implementation.Formats.Any(f => schemeFormats.Contains((scheme.Scheme, f))),
                    $"{scheme.Base} on {string.Join('/', implementation.Formats ?? [])}: no accepted machine reaches it");
            }
        }

        Assert.Equal(DesignRegistry.BaseNames.Order(), bases.Order());
        Assert.Equal(DesignSpec.Options.Order(), options.Order());
        Assert.Equal(DesignRegistry.Schemes.Select(s => (object)s.Scheme).Order(), parts.OfType<IsolationScheme>().Cast<object>().Order());
        Assert.Equal(Enum.GetValues<IsolationScheme>(), parts.OfType<IsolationScheme>().Order());
        Assert.Equal(Enum.GetValues<UaccessStrategy>(), parts.OfType<UaccessStrategy>().Order());
        Assert.Equal(DesignRegistry.UaccessStrategies.Select(u => u.Strategy).Order(), parts.OfType<UaccessStrategy>().Order());
        Assert.Equal(Enum.GetValues<PanKind>(), parts.OfType<PanKind>().Order());
        Assert.Equal(Enum.GetValues<KernelImagePlacement>(), parts.OfType<KernelImagePlacement>().Order());
        Assert.Equal(Enum.GetValues<KernelArch>(), arches.Order());

        // every profile in profiles/ is shipped and runs something
        string[] files = Directory.GetFiles(RepoFiles.PathOf("profiles"), "*.yaml").Select(f => Path.GetFileNameWithoutExtension(f)!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(files, CpuProfiles.Shipped.Select(p => p.Id).Order(StringComparer.Ordinal));
        Assert.Equal(files, profiles.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TheDesignNamesAreTheHandCountedOnesOnX8664()
    {
        // classic: (none | nopcid | pcid) x (none | pan) x (none | pin-kmap) = 12;
        // kpti: (none | nopcid | pcid) x (none | global | kaiser-v1) = 9; each with or without +nomitigations
        IReadOnlyList<string> names = DesignNames(MmuFormat.X86_64);
        Assert.Equal(42, names.Count);
        Assert.Contains("kpti+nopcid+nomitigations", names);
        Assert.Contains("classic+pcid+pan", names);
        Assert.Contains("classic+pin-kmap", names);
        Assert.Contains("kpti+nopcid+kaiser-v1", names);
        Assert.DoesNotContain("kpti+global+kaiser-v1", names);
        Assert.DoesNotContain("4g4g", names);
    }

    [Fact]
    public void EveryFourGFourGVariantIsANameOnShortDescriptors()
    {
        // 4g4g on short descriptors (TTBR0 switched over the whole 4 GiB): every uaccess strategy, with every image placement
        IReadOnlyList<string> names = DesignNames(MmuFormat.ArmShort);
        foreach (string variant in new[] { "4g4g", "4g4g+pin-kmap", "4g4g+ttbr0-switch", "4g4g+hybrid", "4g4g+trampoline", "4g4g+pmd-copy", "4g4g+pmd-copy+kimage-permuted" })
        {
            Assert.Contains(variant, names);
        }

        Assert.Equal(6 * 4, names.Count(n => n.StartsWith("4g4g", StringComparison.Ordinal))); // (none or a strategy) x (none, kimage-vmalloc, kimage-permuted, both)
    }
}

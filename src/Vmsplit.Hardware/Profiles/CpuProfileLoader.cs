using System.Globalization;
using System.Numerics;
using Vmsplit.Hardware.Caches;
using Vmsplit.Hardware.Input;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;
using YamlDotNet.RepresentationModel;

namespace Vmsplit.Hardware.Profiles;

/// <summary>A malformed or incomplete profile: one line "FILE:LINE: FIELD: problem".</summary>
public sealed class ProfileFormatException(string message) : Exception(message);

/// <summary>
/// Reads a CPU profile from YAML. Every number is <c>{ value: N, source: "..." }</c> or
/// <c>{ value: N, assumption: "..." }</c>; unknown fields, missing fields and values without
/// provenance are errors that name the field (see docs/profiles.md for the schema).
/// </summary>
public static class CpuProfileLoader
{
    public static CpuProfile LoadFile(string path) => Parse(SafeYaml.ReadFile(path, MakeError), path);

    /// <summary>Parses YAML text; <paramref name="file"/> names it in error messages.</summary>
    public static CpuProfile Parse(string yaml, string file)
    {
        YamlMappingNode root = SafeYaml.LoadMapping(yaml, file, "a mapping with id, name, architecture, mmuFormats, features, clockMhz, tlb, costs and cache", MakeError);
        return new Reader(file).Read(root);
    }

    private static ProfileFormatException MakeError(string message) => new(message);

    private sealed class Reader(string file)
    {
        private static readonly string[] s_topKeys = ["id", "name", "architecture", "mmuFormats", "features", "clockMhz", "boardCores", "tlb", "costs", "cache", "kernel"];
        private static readonly string[] s_kernelKeys = ["issueWidth", "ipc"];
        private static readonly string[] s_levelKeys = ["name", "entries", "ways", "pageSizes", "holding", "replacement", "latencyCycles"];
        private static readonly string[] s_walkCacheKeys = ["name", "entries", "ways", "coverageShifts", "latencyCycles"];
        private static readonly string[] s_hierarchyKeys = ["l1iBytes", "l1iWays", "l1dBytes", "l1dWays", "l2Bytes", "l2Ways", "l2HitCycles", "l2MissCycles", "l2BytesPerCycle", "memoryBytesPerCycle", "writeStreaming"];
        private static readonly string[] s_cacheKeys = ["lineBytes", "viptAliasing", "wayBytes", "cleanInvalidateLineCycles", "icacheInvalidateAllCycles", .. s_hierarchyKeys];

        private readonly List<ProfileEntry> _entries = [];
        private readonly YamlFieldReader _r = new(file, MakeError);

        public CpuProfile Read(YamlMappingNode root)
        {
            CheckKeys(root, "", s_topKeys);
            string id = Plain(root, "id", "id");
            if (!id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            {
                throw Error(_r.Child(root, "id")!, "id", $"{InputText.Quote(id)} must be lower-case letters, digits and dashes");
            }

            string name = Plain(root, "name", "name");
            if (name.Any(char.IsControl))
            {
                throw Error(_r.Child(root, "name")!, "name", $"{InputText.Quote(name)} must be one line of text without control characters");
            }

            string archText = Plain(root, "architecture", "architecture");
            ProfileArchitecture arch = archText switch
            {
                "arm" => ProfileArchitecture.Arm,
                "x86" => ProfileArchitecture.X86,
                "riscv" => ProfileArchitecture.Riscv,
                _ => throw Error(_r.Child(root, "architecture")!, "architecture", $"{InputText.Quote(archText)} is not one of arm, x86, riscv"),
            };

            List<MmuFormat> formats = [];
            YamlSequenceNode formatList = Sequence(Required(root, "mmuFormats", "mmuFormats"), "mmuFormats");
            for (int i = 0; i < formatList.Children.Count; i++)
            {
                YamlNode item = formatList.Children[i];
                string text = Scalar(item, $"mmuFormats[{i}]");
                // by name only: Enum.TryParse would also take numbers and comma lists of flags
                bool named = Enum.GetNames<MmuFormat>().Contains(text, StringComparer.Ordinal);
                MmuFormat format = named ? Enum.Parse<MmuFormat>(text) : default;
                if (!named || !FitsArchitecture(format, arch))
                {
                    throw Error(item, $"mmuFormats[{i}]", $"{InputText.Quote(text)} is not an {archText} MMU format ({string.Join(", ", Enum.GetNames<MmuFormat>().Where(n => FitsArchitecture(Enum.Parse<MmuFormat>(n), arch)))})");
                }

                formats.Add(format);
            }

            if (formats.Count == 0)
            {
                throw Error(formatList, "mmuFormats", "empty");
            }

            HashSet<CpuFeature> features = ReadFeatures(Mapping(Required(root, "features", "features"), "features"), arch, formats);
            double clock = Number(root, "clockMhz", "clockMhz", positive: true);
            int cores = ReadBoardCores(root);
            TlbHierarchyConfig tlb = ReadTlb(Mapping(Required(root, "tlb", "tlb"), "tlb"), arch, features);
            (double[] costs, bool[] has) = ReadCosts(Mapping(Required(root, "costs", "costs"), "costs"), arch, features);
            YamlMappingNode cacheNode = Mapping(Required(root, "cache", "cache"), "cache");
            CacheGeometry cache = ReadCache(cacheNode);
            CacheHierarchyConfig? caches = ReadHierarchy(cacheNode, cache.LineBytes);
            KernelRate rate = ReadKernelRate(_r.Child(root, "kernel"));
            return new CpuProfile(id, name, file, arch, formats, features, clock, tlb, cache, costs, has, _entries) { Kernel = rate, BoardCores = cores, Caches = caches };
        }

        /// <summary>
        /// <c>boardCores:</c> the cores of the board the profile describes (what <c>--cpus board</c> runs); optional, so that
        /// older profile files still load: without it one core is assumed and recorded as an assumption.
        /// </summary>
        private int ReadBoardCores(YamlMappingNode root)
        {
            if (_r.Child(root, "boardCores") is null)
            {
                _entries.Add(new ProfileEntry("boardCores", "1", "the profile file states no board; one core", true));
                return 1;
            }

            return Integer(root, "boardCores", "boardCores", 1, MaxBoardCores);
        }

        /// <summary>The most cores a profile may state (the kernel model boots at most 64 CPUs).</summary>
        private const int MaxBoardCores = 64;

        /// <summary>
        /// <c>kernel:</c> the rate kernel code runs at (issue width and typical IPC); optional, so that older profile
        /// files still load: without it one instruction per cycle is assumed and recorded as an assumption.
        /// </summary>
        private KernelRate ReadKernelRate(YamlNode? node)
        {
            if (node is null)
            {
                _entries.Add(new ProfileEntry("kernel.ipc", "1", "the profile file gives no kernel section; one kernel instruction per cycle", true));
                return KernelRate.Default;
            }

            YamlMappingNode m = Mapping(node, "kernel");
            CheckKeys(m, "kernel", s_kernelKeys);
            int width = Integer(m, "issueWidth", "kernel.issueWidth", 1, 16);
            double ipc = Number(m, "ipc", "kernel.ipc", positive: true);
            if (ipc > width)
            {
                throw Error(_r.Child(m, "ipc")!, "kernel.ipc", $"{ipc.ToString(CultureInfo.InvariantCulture)} exceeds the issue width {width}");
            }

            return new KernelRate(width, ipc);
        }

        /// <summary>
        /// <c>features:</c> states every feature of the architecture, true or false, with its source; an
        /// unknown or foreign name is refused with its line.
        /// </summary>
        private HashSet<CpuFeature> ReadFeatures(YamlMappingNode m, ProfileArchitecture arch, List<MmuFormat> formats)
        {
            IReadOnlyList<CpuFeature> expected = CpuFeatureExtensions.For(arch);
            string names = string.Join(", ", expected.Select(f => f.Key()));
            foreach (YamlNode k in m.Children.Keys)
            {
                string key = Scalar(k, "features");
                if (!CpuFeatureExtensions.TryParseKey(key, out CpuFeature f))
                {
                    throw Error(k, "features." + InputText.Show(key), $"unknown feature (this {ArchName(arch)} profile states {names})");
                }

                if (!expected.Contains(f))
                {
                    throw Error(k, "features." + key, $"does not apply to this {ArchName(arch)} profile (it states {names})");
                }
            }

            HashSet<CpuFeature> has = [];
            foreach (CpuFeature f in expected)
            {
                if (Boolean(m, f.Key(), "features." + f.Key()))
                {
                    has.Add(f);
                }
            }

            // Consistency with mmuFormats: the formats are what the MMU walks, the features what the designs may use.
            if (formats.Contains(MmuFormat.ArmLpae) && !has.Contains(CpuFeature.Lpae))
            {
                throw Error(_r.Child(m, "lpae")!, "features.lpae", "false, but mmuFormats lists ArmLpae");
            }

            if (formats.Contains(MmuFormat.ArmShort) && !has.Contains(CpuFeature.Domains))
            {
                throw Error(_r.Child(m, "domains")!, "features.domains", "false, but mmuFormats lists ArmShort, whose format always has domains");
            }

            if (has.Contains(CpuFeature.Pcid) && !formats.Contains(MmuFormat.X86_64) && !formats.Contains(MmuFormat.X86_64La57))
            {
                throw Error(_r.Child(m, "pcid")!, "features.pcid", "true, but PCIDs exist only in IA-32e mode (Intel SDM Vol. 3A 4.10.1) and mmuFormats has no X86_64");
            }

            if (has.Contains(CpuFeature.Invpcid) && !has.Contains(CpuFeature.Pcid))
            {
                throw Error(_r.Child(m, "invpcid")!, "features.invpcid", "true without pcid");
            }

            return has;
        }

        private static bool FitsArchitecture(MmuFormat f, ProfileArchitecture a) => f.Family().ProfileArchitectureOf() == a;

        private TlbHierarchyConfig ReadTlb(YamlMappingNode tlb, ProfileArchitecture arch, HashSet<CpuFeature> features)
        {
            foreach (string moved in new[] { "pcid", "invpcid" })
            {
                if (_r.Child(tlb, moved) is YamlNode old)
                {
                    throw Error(old, "tlb." + moved, $"moved to features.{moved} (docs/profiles.md)");
                }
            }

            CheckKeys(tlb, "tlb", ["asidBits", "microI", "microD", "main", "walkCaches"]);
            int asidBits = Integer(tlb, "asidBits", "tlb.asidBits", 0, 16);
            bool pcid = features.Contains(CpuFeature.Pcid);
            bool invpcid = features.Contains(CpuFeature.Invpcid);

            TlbHierarchyConfig config = new()
            {
                AsidBits = asidBits,
                HasPcid = pcid,
                HasInvpcid = invpcid,
                MicroI = Levels(tlb, "microI"),
                MicroD = Levels(tlb, "microD"),
                Main = Levels(tlb, "main"),
                WalkCaches = WalkCaches(tlb),
            };
            string problem = config.Validate();
            if (problem.Length != 0)
            {
                throw Error(tlb, "tlb", problem);
            }

            return config;
        }

        private List<TlbLevelConfig> Levels(YamlMappingNode tlb, string key)
        {
            List<TlbLevelConfig> levels = [];
            if (_r.Child(tlb, key) is not YamlNode node)
            {
                return levels;
            }

            YamlSequenceNode list = Sequence(node, "tlb." + key);
            for (int i = 0; i < list.Children.Count; i++)
            {
                string path = $"tlb.{key}[{i}]";
                YamlMappingNode m = Mapping(list.Children[i], path);
                CheckKeys(m, path, s_levelKeys);
                string name = Plain(m, "name", path + ".name");
                int entries = Integer(m, "entries", path + ".entries", 1, 1 << 16);
                int ways = Integer(m, "ways", path + ".ways", 1, 1 << 16);
                List<ulong> sizes = Sizes(m, "pageSizes", path + ".pageSizes");
                LargePageHolding holding = LargePageHolding.Native;
                if (_r.Child(m, "holding") is YamlNode holdingNode)
                {
                    string h = Word(m, "holding", path + ".holding");
                    holding = h switch
                    {
                        "native" => LargePageHolding.Native,
                        "splintered" => LargePageHolding.Splintered,
                        _ => throw Error(holdingNode, path + ".holding", $"{InputText.Quote(h)} is not native or splintered"),
                    };
                }

                TlbReplacement replacement = TlbReplacement.Lru;
                if (_r.Child(m, "replacement") is not null)
                {
                    replacement = Replacement(m, path + ".replacement");
                }

                double latency = Number(m, "latencyCycles", path + ".latencyCycles", positive: false);
                TlbLevelConfig level = new()
                {
                    Name = name,
                    Entries = entries,
                    Ways = ways,
                    PageSizes = sizes,
                    HowLargePagesAreHeld = holding,
                    Replacement = replacement,
                    LookupLatencyCycles = latency,
                };
                string problem = level.Validate();
                if (problem.Length != 0)
                {
                    throw Error(m, path, problem);
                }

                levels.Add(level);
            }

            return levels;
        }

        private List<WalkCacheConfig> WalkCaches(YamlMappingNode tlb)
        {
            List<WalkCacheConfig> caches = [];
            if (_r.Child(tlb, "walkCaches") is not YamlNode node)
            {
                return caches;
            }

            YamlSequenceNode list = Sequence(node, "tlb.walkCaches");
            for (int i = 0; i < list.Children.Count; i++)
            {
                string path = $"tlb.walkCaches[{i}]";
                YamlMappingNode m = Mapping(list.Children[i], path);
                CheckKeys(m, path, s_walkCacheKeys);
                string name = Plain(m, "name", path + ".name");
                int entries = Integer(m, "entries", path + ".entries", 1, 1 << 16);
                int ways = Integer(m, "ways", path + ".ways", 1, 1 << 16);
                List<int> shifts = [];
                if (_r.Child(m, "coverageShifts") is not null)
                {
                    (YamlNode value, _) = Sourced(m, "coverageShifts", path + ".coverageShifts");
                    YamlSequenceNode seq = Sequence(value, path + ".coverageShifts.value");
                    foreach (YamlNode s in seq.Children)
                    {
                        shifts.Add(ParseInt(s, Scalar(s, path + ".coverageShifts.value"), path + ".coverageShifts", 12, 63));
                    }

                    Record(path + ".coverageShifts", string.Join(", ", shifts));
                }

                double latency = Number(m, "latencyCycles", path + ".latencyCycles", positive: false);
                WalkCacheConfig cache = new() { Name = name, Entries = entries, Ways = ways, CoverageShifts = shifts, LookupLatencyCycles = latency };
                string problem = cache.Validate();
                if (problem.Length != 0)
                {
                    throw Error(m, path, problem);
                }

                caches.Add(cache);
            }

            return caches;
        }

        private (double[] Costs, bool[] Has) ReadCosts(YamlMappingNode costs, ProfileArchitecture arch, HashSet<CpuFeature> features)
        {
            double[] values = new double[PrimitiveCostExtensions.Count];
            bool[] has = new bool[PrimitiveCostExtensions.Count];
            IReadOnlyList<PrimitiveCost> required = PrimitiveCostExtensions.Required(arch, features);
            foreach (KeyValuePair<YamlNode, YamlNode> pair in costs.Children)
            {
                string key = Scalar(pair.Key, "costs");
                if (!PrimitiveCostExtensions.TryParseKey(key, out PrimitiveCost cost))
                {
                    throw Error(pair.Key, "costs." + InputText.Show(key), "unknown cost");
                }

                if (!required.Contains(cost))
                {
                    throw Error(pair.Key, "costs." + key, $"does not apply to this {ArchName(arch)} profile (check its features)");
                }
            }

            foreach (PrimitiveCost cost in required)
            {
                values[(int)cost] = Number(costs, cost.Key(), "costs." + cost.Key(), positive: cost == PrimitiveCost.MemcpyBytesPerCycle, unit: cost.Unit());
                has[(int)cost] = true;
            }

            return (values, has);
        }

        private CacheGeometry ReadCache(YamlMappingNode cache)
        {
            CheckKeys(cache, "cache", s_cacheKeys);
            int line = Integer(cache, "lineBytes", "cache.lineBytes", 16, 256);
            if (!BitOperations.IsPow2(line))
            {
                throw Error(_r.Child(cache, "lineBytes")!, "cache.lineBytes", $"{line} is not a power of two");
            }

            bool aliasing = Boolean(cache, "viptAliasing", "cache.viptAliasing");
            List<ulong> way = Sizes(cache, "wayBytes", "cache.wayBytes", single: true);
            double flush = Number(cache, "cleanInvalidateLineCycles", "cache.cleanInvalidateLineCycles", positive: false);
            double icache = 0;
            if (_r.Child(cache, "icacheInvalidateAllCycles") is not null)
            {
                icache = Number(cache, "icacheInvalidateAllCycles", "cache.icacheInvalidateAllCycles", positive: false);
            }
            else if (aliasing)
            {
                throw Error(cache, "cache.icacheInvalidateAllCycles", "an aliasing data cache needs the cost of invalidating the instruction cache (flush_anon_page runs it)");
            }

            return new CacheGeometry(line, aliasing, way[0], flush, icache);
        }

        /// <summary>
        /// The L1 instruction, L1 data and L2 caches (<c>cache.l1iBytes</c> ... <c>cache.l2MissCycles</c>): all or none, so that
        /// older profile files still load; without them no instruction or data cache is modelled, recorded as an assumption.
        /// </summary>
        private CacheHierarchyConfig? ReadHierarchy(YamlMappingNode cache, int lineBytes)
        {
            string[] present = [.. s_hierarchyKeys.Where(k => _r.Child(cache, k) is not null)];
            if (present.Length == 0)
            {
                _entries.Add(new ProfileEntry("cache.l1iBytes", "none", "the profile file states no L1/L2 caches; kernel text fetches and copied lines are not looked up in caches", true));
                return null;
            }

            if (present.Length != s_hierarchyKeys.Length)
            {
                string missing = s_hierarchyKeys.First(k => !present.Contains(k));
                throw Error(cache, "cache." + missing, $"missing (the cache hierarchy needs all of {string.Join(", ", s_hierarchyKeys)})");
            }

            CacheLevelConfig Level(string name, string key) => new(
                name,
                Sizes(cache, key + "Bytes", "cache." + key + "Bytes", single: true)[0],
                Integer(cache, key + "Ways", "cache." + key + "Ways", 1, 64));

            CacheLevelConfig l1i = Level("L1I", "l1i");
            CacheLevelConfig l1d = Level("L1D", "l1d");
            CacheLevelConfig l2 = Level("L2", "l2");
            double hit = Number(cache, "l2HitCycles", "cache.l2HitCycles", positive: false);
            double miss = Number(cache, "l2MissCycles", "cache.l2MissCycles", positive: false);
            CacheHierarchyConfig config = new(l1i, l1d, l2, lineBytes, hit, miss)
            {
                L2BytesPerCycle = Number(cache, "l2BytesPerCycle", "cache.l2BytesPerCycle", positive: true),
                MemoryBytesPerCycle = Number(cache, "memoryBytesPerCycle", "cache.memoryBytesPerCycle", positive: true),
                WriteStreaming = Boolean(cache, "writeStreaming", "cache.writeStreaming"),
            };
            string problem = config.Validate();
            if (problem.Length != 0)
            {
                throw Error(cache, "cache", problem);
            }

            return config;
        }

        private static string ArchName(ProfileArchitecture a) => a switch
        {
            ProfileArchitecture.Arm => "arm",
            ProfileArchitecture.X86 => "x86",
            _ => "riscv",
        };

        private Exception Error(YamlNode at, string field, string problem) => _r.Error(at, field, problem);

        private void CheckKeys(YamlMappingNode m, string path, string[] allowed)
        {
            foreach (YamlNode k in m.Children.Keys)
            {
                string key = Scalar(k, path.Length == 0 ? "key" : path);
                if (!allowed.Contains(key))
                {
                    throw Error(k, path.Length == 0 ? InputText.Show(key) : path + "." + InputText.Show(key), $"unknown field (expected one of {string.Join(", ", allowed)})");
                }
            }
        }

        private YamlNode Required(YamlMappingNode m, string key, string path) =>
            _r.Child(m, key) ?? throw Error(m, path, "missing");

        private YamlMappingNode Mapping(YamlNode node, string path) => _r.Mapping(node, path);

        private YamlSequenceNode Sequence(YamlNode node, string path) => _r.Sequence(node, path);

        private string Scalar(YamlNode node, string path) => _r.Scalar(node, path);

        private string Plain(YamlMappingNode m, string key, string path)
        {
            YamlNode node = Required(m, key, path);
            string s = Scalar(node, path).Trim();
            if (s.Length == 0)
            {
                throw Error(node, path, "empty");
            }

            return s;
        }

        /// <summary>A <c>{ value, source | assumption }</c> mapping; records nothing yet.</summary>
        private (YamlNode Value, (string Text, bool Assumption) Provenance) Sourced(YamlMappingNode m, string key, string path)
        {
            YamlNode node = Required(m, key, path);
            if (node is not YamlMappingNode sourced)
            {
                throw Error(node, path, "missing source or assumption (write { value: ..., source: \"...\" } or { value: ..., assumption: \"...\" })");
            }

            YamlNode? value = null;
            string? source = null;
            string? assumption = null;
            foreach (KeyValuePair<YamlNode, YamlNode> pair in sourced.Children)
            {
                switch (Scalar(pair.Key, path))
                {
                    case "value":
                        value = pair.Value;
                        break;
                    case "source":
                        source = Scalar(pair.Value, path + ".source").Trim();
                        break;
                    case "assumption":
                        assumption = Scalar(pair.Value, path + ".assumption").Trim();
                        break;
                    default:
                        throw Error(pair.Key, path + "." + InputText.Show(Scalar(pair.Key, path)), "unknown field (expected value and source or assumption)");
                }
            }

            if (value is null)
            {
                throw Error(sourced, path, "missing value");
            }

            if (source is null && assumption is null)
            {
                throw Error(sourced, path, "missing source or assumption");
            }

            if (source is not null && assumption is not null)
            {
                throw Error(sourced, path, "has both source and assumption; give one");
            }

            if ((source ?? assumption)!.Length == 0)
            {
                throw Error(sourced, path, source is not null ? "empty source" : "empty assumption");
            }

            _pending = (source ?? assumption!, assumption is not null);
            return (value, _pending);
        }

        private (string Text, bool Assumption) _pending;

        private void Record(string path, string display) => _entries.Add(new ProfileEntry(path, display, _pending.Text, _pending.Assumption));

        private double Number(YamlMappingNode m, string key, string path, bool positive, string unit = "")
        {
            (YamlNode node, _) = Sourced(m, key, path);
            string text = Scalar(node, path + ".value");
            double v = _r.NumberValue(node, path, text);
            if (v < 0 || (positive && v == 0))
            {
                throw Error(node, path, positive ? $"{InputText.Show(text)} must be positive" : $"{InputText.Show(text)} must not be negative");
            }

            Record(path, unit.Length == 0 ? text : text + " " + unit);
            return v;
        }

        private int Integer(YamlMappingNode m, string key, string path, int min, int max)
        {
            (YamlNode node, _) = Sourced(m, key, path);
            int v = ParseInt(node, Scalar(node, path + ".value"), path, min, max);
            Record(path, v.ToString(CultureInfo.InvariantCulture));
            return v;
        }

        private int ParseInt(YamlNode node, string text, string path, int min, int max) => _r.IntegerValue(node, path, text, min, max);

        private bool Boolean(YamlMappingNode m, string key, string path)
        {
            (YamlNode node, _) = Sourced(m, key, path);
            string text = Scalar(node, path + ".value");
            bool v = text switch
            {
                "true" => true,
                "false" => false,
                _ => throw Error(node, path, $"{InputText.Quote(text)} is not true or false"),
            };
            Record(path, text);
            return v;
        }

        private string Word(YamlMappingNode m, string key, string path)
        {
            (YamlNode node, _) = Sourced(m, key, path);
            string text = Scalar(node, path + ".value").Trim();
            Record(path, text);
            return text;
        }

        private TlbReplacement Replacement(YamlMappingNode m, string path)
        {
            string text = Word(m, "replacement", path);
            return text switch
            {
                "lru" => TlbReplacement.Lru,
                "plru" => TlbReplacement.PseudoLru,
                "random" => TlbReplacement.Random,
                _ => throw Error(_r.Child(m, "replacement")!, path, $"{InputText.Quote(text)} is not lru, plru or random"),
            };
        }

        private List<ulong> Sizes(YamlMappingNode m, string key, string path, bool single = false)
        {
            (YamlNode node, _) = Sourced(m, key, path);
            List<ulong> sizes = [];
            List<string> texts = [];
            IEnumerable<YamlNode> items = single ? [node] : Sequence(node, path + ".value").Children;
            foreach (YamlNode item in items)
            {
                string text = Scalar(item, path + ".value");
                if (!ByteSize.TryParse(text, out ulong size, out string error))
                {
                    throw Error(item, path, error);
                }

                sizes.Add(size);
                texts.Add(text);
            }

            if (sizes.Count == 0)
            {
                throw Error(node, path, "empty");
            }

            Record(path, string.Join(", ", texts));
            return sizes;
        }
    }
}

using Vmsplit.Hardware;

namespace Vmsplit.Kernel.Layout;

/// <summary>What a region is for, so reports and budgets can group regions without parsing names.</summary>
public enum RegionKind
{
    User,
    Lowmem,
    Vmalloc,
    Modules,
    Pkmap,
    Fixmap,
    Vectors,
    KernelImage,
    Io,
    Metadata,
    Trampoline,
    Guard,
    Hole,
}

/// <summary>In which translation context a region exists: always, or only while user (or kernel) code runs.</summary>
public enum RegionView
{
    /// <summary>Mapped the same way in every context (global kernel mappings, or the classic shared split).</summary>
    Shared,

    /// <summary>Present only in the user context (4G/4G designs: TTBR0/CR3 holds the user tables).</summary>
    UserContext,

    /// <summary>Present only in the kernel context (4G/4G designs: TTBR0/CR3 holds the kernel tables).</summary>
    KernelContext,
}

/// <summary>One virtual region: [Start, Start + Size), named as Linux names it.</summary>
public sealed record LayoutRegion(string Name, ulong Start, ulong Size, RegionKind Kind, string Purpose, string Ttbr, RegionView View = RegionView.Shared)
{
    /// <summary>Exclusive end (may be 2^64 for the top region of a 64-bit layout).</summary>
    public UInt128 End => (UInt128)Start + Size;

    public ulong Last => Start + Size - 1;
}

/// <summary>A memory zone as free_area_init() reports it ("  Normal zone: 196608 pages").</summary>
public readonly record struct ZoneSize(string Name, ulong Pages);

/// <summary>
/// A computed kernel virtual-memory layout: every region and the values Linux derives (PAGE_OFFSET,
/// TASK_SIZE, high_memory, VMALLOC_START/END, ...). Built by <see cref="LayoutEngine"/>; immutable.
/// </summary>
public sealed class KernelLayout
{
    internal KernelLayout(Machine machine, KernelConfig config)
    {
        Machine = machine;
        Config = config;
    }

    public Machine Machine { get; }

    public KernelConfig Config { get; }

    public KernelArch Arch => Machine.Arch;

    public IReadOnlyList<LayoutRegion> Regions => _regions;

    internal readonly List<LayoutRegion> _regions = [];

    public ulong PageOffset { get; internal set; }

    public ulong TaskSize { get; internal set; }

    /// <summary>high_memory: the first virtual address above the linear map of lowmem.</summary>
    public ulong HighMemory { get; internal set; }

    public ulong LowmemBytes { get; internal set; }

    public ulong HighmemBytes { get; internal set; }

    public ulong IgnoredBytes { get; internal set; }

    public ulong VmallocStart { get; internal set; }

    public ulong VmallocEnd { get; internal set; }

    /// <summary>PKMAP_BASE, or 0 without HIGHMEM (or where the architecture has none).</summary>
    public ulong PkmapBase { get; internal set; }

    public ulong PkmapSize { get; internal set; }

    public ulong ModulesVaddr { get; internal set; }

    public ulong ModulesEnd { get; internal set; }

    public ulong FixaddrStart { get; internal set; }

    public ulong FixaddrEnd { get; internal set; }

    public ulong VectorsBase { get; internal set; }

    /// <summary>ARM before 3.6: CONSISTENT_BASE, the start of the consistent-DMA region (ends at 0xffe00000); 0 otherwise.</summary>
    public ulong ConsistentBase { get; internal set; }

    /// <summary>The first address translated through the kernel root (TTBR1 on ARM LPAE/arm64); 0 when one root covers all.</summary>
    public ulong KernelRootStart { get; internal set; }

    /// <summary>How the roots divide the space, in the architecture's words ("TTBCR.T0SZ=0 T1SZ=2: TTBR1 from 0xc0000000").</summary>
    public string RootSplit { get; internal set; } = "";

    /// <summary>Virtual bytes of RAM mapped twice (the kernel image in the vmalloc area and in the linear map).</summary>
    public ulong MappedTwiceBytes { get; internal set; }

    /// <summary>The CPU entry area, LDT remap (x86-32 4.15+), or 0.</summary>
    public ulong CpuEntryAreaBase { get; internal set; }

    public ulong CpuEntryAreaSize { get; internal set; }

    /// <summary>PMD_SIZE-rounded memblock limit (ARM): where ZONE_NORMAL stops.</summary>
    public ulong LowmemPhysLimit { get; internal set; }

    public IReadOnlyList<ZoneSize> Zones => _zones;

    internal readonly List<ZoneSize> _zones = [];

    /// <summary>Messages the kernel would print (or the layout engine wants said): "Ignoring RAM at ...".</summary>
    public IReadOnlyList<string> Notes => _notes;

    internal readonly List<string> _notes = [];

    /// <summary>Choices the design left open and the value used: "linear map starts at 0x0 (default, Arnd Bergmann, May 2020)".</summary>
    public IReadOnlyList<string> Choices => _choices;

    internal readonly List<string> _choices = [];

    /// <summary>
    /// Bytes of the kernel image (from <see cref="KernelConfig.Image"/>, or Arnd Bergmann's (July 2020) 4 MiB): the one size the layout
    /// reserves, the kernel maps and the budget counts as mapped twice.
    /// </summary>
    public ulong ImageBytes => Config.Image is KernelImage image
        ? (image.Ranges is { } r ? r[^1].End - r[0].Start : image.Total)
        : KernelImage.Typical32Bit.Total;

    /// <summary>Bytes of the image's text (with read-only data), the first part of <see cref="ImageBytes"/>.</summary>
    public ulong ImageTextBytes => Math.Min(ImageBytes, (Config.Image ?? KernelImage.Typical32Bit).Text);

    /// <summary>Kernel image section ranges as laid out (text, init, data, bss) or null if no image was given.</summary>
    public (ulong Start, ulong End)[]? ImageSections { get; internal set; }

    public UInt128 AddressSpaceSize => (UInt128)1 << Arch.AddressSpaceBits();

    public LayoutRegion? Find(string name)
    {
        foreach (LayoutRegion r in _regions)
        {
            if (r.Name == name)
            {
                return r;
            }
        }

        return null;
    }

    internal LayoutRegion Add(string name, ulong start, ulong size, RegionKind kind, string purpose, string ttbr, RegionView view = RegionView.Shared)
    {
        LayoutRegion r = new(name, start, size, kind, purpose, ttbr, view);
        _regions.Add(r);
        return r;
    }

    internal void SortRegions() => _regions.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.View.CompareTo(b.View));

    /// <summary>Bytes of virtual space given to user space.</summary>
    public ulong UserBytes
    {
        get
        {
            ulong t = 0;
            foreach (LayoutRegion r in _regions)
            {
                if (r.Kind == RegionKind.User)
                {
                    t += r.Size;
                }
            }

            return t;
        }
    }

    public ulong BytesOf(RegionKind kind)
    {
        ulong t = 0;
        foreach (LayoutRegion r in _regions)
        {
            if (r.Kind == kind)
            {
                t += r.Size;
            }
        }

        return t;
    }

    /// <summary>
    /// Checks what every layout must satisfy: regions inside the address space, no two regions of one
    /// context overlapping, and lowmem + highmem + ignored = RAM. Throws <see cref="LayoutException"/>.
    /// </summary>
    public void Validate()
    {
        UInt128 space = AddressSpaceSize;
        for (int i = 0; i < _regions.Count; i++)
        {
            LayoutRegion a = _regions[i];
            if (a.Size == 0 || a.End > space)
            {
                throw new LayoutException(LayoutErrorKind.Overlap, $"region {a.Name} [{ByteSize.Hex(a.Start)}, +{ByteSize.Human(a.Size)}) lies outside the {Arch.AddressSpaceBits()}-bit address space or is empty");
            }

            for (int j = i + 1; j < _regions.Count; j++)
            {
                LayoutRegion b = _regions[j];
                bool sameContext = a.View == RegionView.Shared || b.View == RegionView.Shared || a.View == b.View;
                if (sameContext && a.Start < b.End && b.Start < a.End)
                {
                    throw new LayoutException(
                        LayoutErrorKind.Overlap,
                        $"regions {a.Name} [{ByteSize.Hex(a.Start)}-{ByteSize.Hex(a.Last)}] and {b.Name} [{ByteSize.Hex(b.Start)}-{ByteSize.Hex(b.Last)}] overlap");
                }
            }
        }

        if (LowmemBytes + HighmemBytes + IgnoredBytes != Machine.TotalRam)
        {
            throw new InvalidOperationException($"layout accounting error: lowmem {LowmemBytes} + highmem {HighmemBytes} + ignored {IgnoredBytes} != RAM {Machine.TotalRam}");
        }
    }
}

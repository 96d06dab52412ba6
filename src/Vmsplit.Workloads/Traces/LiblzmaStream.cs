using System.Runtime.InteropServices;

namespace Vmsplit.Workloads.Traces;

/// <summary>
/// An .xz stream decoded by the system's liblzma (the library <c>xz</c> itself is built on; Debian's liblzma5,
/// which dpkg depends on, so every Debian and Ubuntu system has it): <c>lzma_stream_decoder</c> with
/// <c>LZMA_CONCATENATED</c> (as <c>xz -dc</c> decodes concatenated streams), then <c>lzma_code</c> with
/// <c>LZMA_RUN</c> while input remains and <c>LZMA_FINISH</c> at its end (xz 5.4 src/liblzma/api/lzma/base.h,
/// container.h). The library is looked up once; <see cref="TryCreate"/> returns null where it is absent, and the
/// caller falls back to the managed decoder. A cut stream throws <see cref="EndOfStreamException"/>, a corrupt one
/// <see cref="InvalidDataException"/>, as the managed decoders do.
/// </summary>
public sealed unsafe class LiblzmaStream : ForwardReadStream
{
    // lzma_ret (base.h)
    private const int LzmaOk = 0;
    private const int LzmaStreamEnd = 1;
    private const int LzmaMemError = 5;
    private const int LzmaMemlimitError = 6;
    private const int LzmaFormatError = 7;
    private const int LzmaOptionsError = 8;
    private const int LzmaDataError = 9;
    private const int LzmaBufError = 10;

    // lzma_action (base.h)
    private const int LzmaRun = 0;
    private const int LzmaFinish = 3;

    // container.h: decode concatenated .xz streams as one, as xz -dc does
    private const uint LzmaConcatenated = 0x08;

    // sizeof(lzma_stream) on LP64: 16 eight-byte fields and two enums (base.h); allocated zeroed (LZMA_STREAM_INIT)
    private const int StreamStructBytes = 136;

    private static readonly Api? s_api = Load();

    private readonly Stream _inner;
    private readonly byte[] _in = new byte[1 << 16];
    private readonly GCHandle _pin;
    private readonly byte* _inBase;
    private LzmaStreamStruct* _strm;
    private bool _innerDone;
    private bool _ended;

    private LiblzmaStream(Stream inner, Api api)
    {
        _inner = inner;
        _pin = GCHandle.Alloc(_in, GCHandleType.Pinned);
        _inBase = (byte*)_pin.AddrOfPinnedObject();
        _strm = (LzmaStreamStruct*)NativeMemory.AllocZeroed(StreamStructBytes);
        int ret = api.StreamDecoder(_strm, ulong.MaxValue, LzmaConcatenated);
        if (ret != LzmaOk)
        {
            Free();
            throw new InvalidDataException($"liblzma could not start a decoder (lzma_ret {ret})");
        }
    }

    /// <summary>Whether the system's liblzma was found (otherwise .xz traces are decoded by the managed decoder).</summary>
    public static bool Available => s_api is not null;

    /// <summary>A decoder of <paramref name="inner"/> through the system's liblzma, or null when the library is absent.</summary>
    public static LiblzmaStream? TryCreate(Stream inner) => s_api is Api api ? new LiblzmaStream(inner, api) : null;

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_strm is null, this);
        if (_ended || buffer.IsEmpty)
        {
            return 0;
        }

        fixed (byte* outBase = buffer)
        {
            _strm->NextOut = outBase;
            _strm->AvailOut = (nuint)buffer.Length;
            while (true)
            {
                if (_strm->AvailIn == 0 && !_innerDone)
                {
                    int n = _inner.Read(_in);
                    _innerDone = n == 0;
                    _strm->NextIn = _inBase;
                    _strm->AvailIn = (nuint)n;
                }

                int ret = s_api!.Code(_strm, _innerDone ? LzmaFinish : LzmaRun);
                int produced = buffer.Length - (int)_strm->AvailOut;
                if (ret == LzmaStreamEnd)
                {
                    _ended = true;
                    return produced;
                }

                if (ret != LzmaOk)
                {
                    Fail(ret);
                }

                if (produced > 0)
                {
                    return produced;
                }
            }
        }
    }

    private static void Fail(int ret) => throw ret switch
    {
        LzmaBufError => new EndOfStreamException("the xz stream ends before its end marker"),
        LzmaFormatError => new InvalidDataException("not an xz stream"),
        LzmaDataError => new InvalidDataException("the xz data is corrupt"),
        LzmaOptionsError => new InvalidDataException("unsupported xz options"),
        LzmaMemError or LzmaMemlimitError => new InvalidDataException("liblzma ran out of memory"),
        _ => new InvalidDataException($"liblzma error {ret}"),
    };

    protected override void Dispose(bool disposing)
    {
        Free();
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    ~LiblzmaStream() => Dispose(false);

    private void Free()
    {
        if (_strm is not null)
        {
            s_api!.End(_strm);
            NativeMemory.Free(_strm);
            _strm = null;
        }

        if (_pin.IsAllocated)
        {
            _pin.Free();
        }
    }

    private static Api? Load()
    {
        foreach (string name in new[] { "liblzma.so.5", "liblzma.5.dylib", "liblzma.dylib", "liblzma.dll", "liblzma" })
        {
            if (NativeLibrary.TryLoad(name, typeof(LiblzmaStream).Assembly, null, out nint lib))
            {
                if (NativeLibrary.TryGetExport(lib, "lzma_stream_decoder", out nint decoder)
                    && NativeLibrary.TryGetExport(lib, "lzma_code", out nint code)
                    && NativeLibrary.TryGetExport(lib, "lzma_end", out nint end))
                {
                    return new Api(
                        (delegate* unmanaged<LzmaStreamStruct*, ulong, uint, int>)decoder,
                        (delegate* unmanaged<LzmaStreamStruct*, int, int>)code,
                        (delegate* unmanaged<LzmaStreamStruct*, void>)end);
                }

                NativeLibrary.Free(lib);
            }
        }

        return null;
    }

    private sealed class Api
    {
        private readonly delegate* unmanaged<LzmaStreamStruct*, ulong, uint, int> _streamDecoder;
        private readonly delegate* unmanaged<LzmaStreamStruct*, int, int> _code;
        private readonly delegate* unmanaged<LzmaStreamStruct*, void> _end;

        public Api(delegate* unmanaged<LzmaStreamStruct*, ulong, uint, int> streamDecoder, delegate* unmanaged<LzmaStreamStruct*, int, int> code, delegate* unmanaged<LzmaStreamStruct*, void> end)
        {
            _streamDecoder = streamDecoder;
            _code = code;
            _end = end;
        }

        public int StreamDecoder(LzmaStreamStruct* s, ulong memlimit, uint flags) => _streamDecoder(s, memlimit, flags);

        public int Code(LzmaStreamStruct* s, int action) => _code(s, action);

        public void End(LzmaStreamStruct* s) => _end(s);
    }

    // the leading fields of lzma_stream (base.h); the rest of the 136 bytes are reserved and stay zero
    [StructLayout(LayoutKind.Sequential)]
    private struct LzmaStreamStruct
    {
        public byte* NextIn;
        public nuint AvailIn;
        public ulong TotalIn;
        public byte* NextOut;
        public nuint AvailOut;
        public ulong TotalOut;
    }
}

using System.Buffers;
using System.Text;
using System.Text.Unicode;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Vmsplit.Hardware.Input;

/// <summary>
/// Loads YAML that may be hostile — the CPU profile, workload and validation datapoint files all come
/// through here. It refuses, in one line "SOURCE:LINE: problem" made by the caller's exception factory:
/// files over <see cref="MaxBytes"/>; bytes that are not UTF-8 (or UTF-16/32 with a byte order mark);
/// characters outside YAML 1.2's printable set (spec §5.1, <c>c-printable</c>); a second document; nesting
/// deeper than <see cref="MaxDepth"/>; a mapping key that is not a plain value or that repeats; an alias
/// inside the node it names (a cycle); and more than <see cref="MaxNodes"/> nodes counting each alias as
/// the nodes it stands for (an alias bomb). The checks run on YamlDotNet's event stream as the
/// representation model consumes it, so the model never recurses deeper than <see cref="MaxDepth"/> and
/// never hashes a cyclic key (both overflowed the stack before).
/// </summary>
public static class SafeYaml
{
    /// <summary>The largest file read (an assumption: the shipped files are below 20 KiB; 4 MiB leaves room and parses in well under a second).</summary>
    public const int MaxBytes = 4 << 20;

    /// <summary>Deepest nesting of lists and mappings (the deepest shipped schema, a profile's page-size list, nests 6).</summary>
    public const int MaxDepth = 32;

    /// <summary>Most nodes in one file, an alias counting as the nodes it stands for.</summary>
    public const long MaxNodes = 1_000_000;

    /// <summary>Reads at most <see cref="MaxBytes"/> of <paramref name="path"/> (a device or FIFO too) and decodes it strictly.</summary>
    public static string ReadFile(string path, Func<string, Exception> makeError)
    {
        try
        {
            using FileStream s = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1);
            using MemoryStream bytes = new();
            byte[] chunk = new byte[64 * 1024];
            int n;
            while ((n = s.Read(chunk)) > 0)
            {
                bytes.Write(chunk, 0, n);
                if (bytes.Length > MaxBytes)
                {
                    throw makeError($"{InputText.ShowPath(path)}: larger than {MaxBytes >> 20} MiB, the most Vmsplit reads from a YAML file");
                }
            }

            return Decode(bytes.GetBuffer().AsSpan(0, (int)bytes.Length), path, makeError);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw makeError($"{InputText.ShowPath(path)}: cannot read: {InputText.OneLine(e.Message)}");
        }
    }

    /// <summary>Decodes UTF-8 (with or without a byte order mark), or UTF-16 / UTF-32 with one; invalid bytes are an error naming the line.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string source, Func<string, Exception> makeError)
    {
        Encoding? wide = bytes switch
        {
            [0xFF, 0xFE, 0, 0, ..] => new UTF32Encoding(bigEndian: false, byteOrderMark: false, throwOnInvalidCharacters: true),
            [0, 0, 0xFE, 0xFF, ..] => new UTF32Encoding(bigEndian: true, byteOrderMark: false, throwOnInvalidCharacters: true),
            [0xFF, 0xFE, ..] => new UnicodeEncoding(bigEndian: false, byteOrderMark: false, throwOnInvalidBytes: true),
            [0xFE, 0xFF, ..] => new UnicodeEncoding(bigEndian: true, byteOrderMark: false, throwOnInvalidBytes: true),
            _ => null,
        };
        if (wide is not null)
        {
            ReadOnlySpan<byte> body = bytes[(wide is UTF32Encoding ? 4 : 2)..];
            try
            {
                return wide.GetString(body);
            }
            catch (DecoderFallbackException)
            {
                throw makeError($"{InputText.ShowPath(source)}: invalid {(wide is UTF32Encoding ? "UTF-32" : "UTF-16")} (the byte order mark says so); save the file as UTF-8");
            }
        }

        if (bytes is [0xEF, 0xBB, 0xBF, ..])
        {
            bytes = bytes[3..];
        }

        char[] chars = new char[bytes.Length];
        OperationStatus status = Utf8.ToUtf16(bytes, chars, out int read, out int written, replaceInvalidSequences: false);
        if (status != OperationStatus.Done)
        {
            int line = 1 + bytes[..read].Count((byte)'\n');
            throw makeError($"{InputText.ShowPath(source)}:{line}: invalid UTF-8 (byte 0x{bytes[read]:x2}); is this a YAML text file?");
        }

        return new string(chars, 0, written);
    }

    /// <summary>
    /// Loads <paramref name="text"/> as one YAML document whose root is a mapping. <paramref name="expected"/>
    /// completes "expected ..." when the file is empty or its root is not a mapping.
    /// </summary>
    public static YamlMappingNode LoadMapping(string text, string source, string expected, Func<string, Exception> makeError)
    {
        string where = InputText.ShowPath(source);
        Exception Fail(long line, string problem) => makeError($"{where}:{line}: {problem}");

        if (text.Length > MaxBytes)
        {
            throw makeError($"{where}: larger than {MaxBytes >> 20} MiB, the most Vmsplit reads from a YAML file");
        }

        if (text.StartsWith('\uFEFF'))
        {
            text = text[1..];
        }

        CheckCharacters(text, Fail);
        Scanner scanner = new(new StringReader(text));
        GuardedParser guarded = new(scanner, Fail);
        YamlStream stream = new();
        try
        {
            stream.Load(guarded);
        }
        catch (RefusedException refused)
        {
            throw refused.Error;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // the representation model given an event sequence it does not expect (the parser's own
            // failures are caught in GuardedParser.MoveNext)
            throw Fail(guarded.Line, "malformed YAML (the YAML reader failed here: " + InputText.OneLine(e.Message) + ")");
        }

        if (stream.Documents.Count == 0)
        {
            throw Fail(1, "empty; expected " + expected);
        }

        YamlNode root = stream.Documents[0].RootNode;
        return root as YamlMappingNode ?? throw Fail(root.Start.Line, "expected " + expected);
    }

    // YAML 1.2 §5.1: c-printable is x9, xA, xD, x20-x7E, x85, xA0-xD7FF, xE000-xFFFD and x10000-x10FFFF
    private static void CheckCharacters(string text, Func<long, string, Exception> fail)
    {
        long line = 1;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\n')
            {
                line++;
                continue;
            }

            bool printable = c is '\t' or '\r' or (>= ' ' and <= '~') or '\u0085' or (>= '\u00A0' and <= '\uD7FF') or (>= '\uE000' and <= '\uFFFD');
            if (!printable && char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            if (!printable)
            {
                throw fail(line, $"character U+{(int)c:X4} is not allowed in YAML (binary data?)");
            }
        }
    }

    /// <summary>Checks every event before the representation model sees it; see <see cref="SafeYaml"/>.</summary>
    /// <summary>Carries a refusal out of YamlDotNet's representation model, which must not mistake it for its own failure.</summary>
    private sealed class RefusedException(Exception error) : Exception(error.Message)
    {
        public Exception Error { get; } = error;
    }

    private sealed class GuardedParser(Scanner scanner, Func<long, string, Exception> makeFailure) : IParser
    {
        private readonly Parser _inner = new(scanner);
        private readonly Stack<Frame> _frames = new();

        // latest definition of each anchor: its number and the nodes it stands for (null while it is still open)
        private readonly Dictionary<string, (int Definition, long? Nodes)> _anchors = new(StringComparer.Ordinal);
        private int _definitions;
        private long _nodes;
        private int _documents;

        public ParsingEvent? Current => _inner.Current;

        /// <summary>The line of the last event read.</summary>
        public long Line { get; private set; } = 1;

        public bool MoveNext()
        {
            bool more;
            try
            {
                more = _inner.MoveNext();
            }
            catch (YamlException e)
            {
                throw Refuse(e.Start.Line > 0 ? e.Start.Line : scanner.CurrentPosition.Line, "malformed YAML: " + InputText.OneLine(e.Message));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // the boundary to the YAML library on untrusted text: YamlDotNet 16.3's scanner throws
                // InvalidOperationException for some broken flow collections ("a: {" then "b: {}"); whatever it
                // throws means it could not read the text here
                throw Refuse(scanner.CurrentPosition.Line, "malformed YAML (the YAML reader failed here: " + InputText.OneLine(e.Message) + ")");
            }

            if (more)
            {
                Line = _inner.Current!.Start.Line;
                Check(_inner.Current);
            }

            return more;
        }

        private RefusedException Refuse(long line, string problem) => new(makeFailure(line, problem));

        private void Check(ParsingEvent e)
        {
            long line = e.Start.Line;
            switch (e)
            {
                case StreamStart or StreamEnd or DocumentEnd:
                    return;
                case DocumentStart:
                    if (++_documents > 1)
                    {
                        throw Refuse(line, "a second YAML document ('---'); a file holds one");
                    }

                    return;
                case MappingEnd or SequenceEnd:
                    Frame done = _frames.Pop();
                    if (done.IsMapping && !done.ExpectKey)
                    {
                        // YamlDotNet 16.3 emits this for some broken flow mappings in a block list ("- : 2, x: 1 }")
                        throw Refuse(line, "malformed YAML: a mapping key without a value");
                    }

                    if (done.Anchor is not null && _anchors[done.Anchor].Definition == done.Definition)
                    {
                        _anchors[done.Anchor] = (done.Definition, _nodes - done.NodesBefore);
                    }

                    return;
            }

            if (_frames.TryPeek(out Frame? parent) && parent.IsMapping)
            {
                if (parent.ExpectKey)
                {
                    if (e is not Scalar key)
                    {
                        throw Refuse(line, $"a mapping key must be a plain value, not {Describe(e)}");
                    }

                    if (!parent.Keys.Add(key.Value))
                    {
                        throw Refuse(line, $"duplicate key {InputText.Quote(key.Value)}");
                    }
                }

                parent.ExpectKey = !parent.ExpectKey;
            }

            long nodes = 1;
            if (e is AnchorAlias alias)
            {
                if (!_anchors.TryGetValue(alias.Value.Value, out (int Definition, long? Nodes) anchor))
                {
                    throw Refuse(line, $"alias *{InputText.Show(alias.Value.Value)} names no earlier anchor");
                }

                nodes = anchor.Nodes ?? throw Refuse(line, $"alias *{InputText.Show(alias.Value.Value)} lies inside the node it names (a cycle)");
            }

            if (nodes > MaxNodes - _nodes)
            {
                throw Refuse(line, $"more than {MaxNodes} YAML nodes, counting each alias as the nodes it repeats (an alias bomb?)");
            }

            _nodes += nodes;
            string? anchorName = e is NodeEvent { Anchor.IsEmpty: false } n ? n.Anchor.Value : null;
            if (e is Scalar && anchorName is not null)
            {
                _anchors[anchorName] = (++_definitions, 1);
            }

            if (e is MappingStart or SequenceStart)
            {
                if (_frames.Count >= MaxDepth)
                {
                    throw Refuse(line, $"lists and mappings nested more than {MaxDepth} deep");
                }

                Frame frame = new(e is MappingStart, _nodes - 1);
                if (anchorName is not null)
                {
                    frame.Anchor = anchorName;
                    frame.Definition = ++_definitions;
                    _anchors[anchorName] = (frame.Definition, null);
                }

                _frames.Push(frame);
            }
        }

        private static string Describe(ParsingEvent e) => e switch
        {
            MappingStart => "a mapping",
            SequenceStart => "a list",
            AnchorAlias => "an alias",
            _ => e.GetType().Name,
        };

        private sealed class Frame(bool isMapping, long nodesBefore)
        {
            public bool IsMapping { get; } = isMapping;

            public long NodesBefore { get; } = nodesBefore;

            public bool ExpectKey { get; set; } = true;

            public HashSet<string> Keys { get; } = new(StringComparer.Ordinal);

            public string? Anchor { get; set; }

            public int Definition { get; set; }
        }
    }
}

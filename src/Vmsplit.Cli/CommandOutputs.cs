using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Vmsplit.Cli;

/// <summary>How an output reaches its destination.</summary>
public enum OutputKind
{
    /// <summary><c>-</c>: the command's standard output.</summary>
    StandardOutput,

    /// <summary>An existing file that is not a regular file (a FIFO, a device, a <c>/dev/fd/N</c> pipe), or an open descriptor: opened and written where it is.</summary>
    InPlace,

    /// <summary>A regular file or a new path (for a symbolic link, its final target): a temporary file in the same directory, renamed over it.</summary>
    Replace,
}

/// <summary>One output option's destination, checked when it was claimed.</summary>
/// <param name="Option">the option that named it, for error messages</param>
/// <param name="Path">the value as the user gave it</param>
/// <param name="Destination">what is opened or replaced: the full path, for <see cref="OutputKind.Replace"/> the symbolic links' final target</param>
/// <param name="Append">an open descriptor to a regular file (<c>--json /dev/stdout &gt; out</c>): written at its end, never truncated or replaced</param>
/// <param name="Identity">equal for two outputs that would write the same file</param>
public sealed record OutputTarget(string Option, string Path, OutputKind Kind, string Destination, bool Append, string Identity);

/// <summary>
/// The outputs of one command run, the one way every command writes a file. Each output option is claimed
/// before the run (<see cref="Claim"/>): the location is checked then, and two options naming the same file
/// (or both naming <c>-</c>), or an output naming a file the command reads (<see cref="Reads"/>), are refused. After the run succeeded <see cref="WriteAll"/> writes everything:
/// regular files are first written to temporary files beside them, then standard output, FIFOs and devices,
/// then the temporary files are renamed into place; a failure removes the temporary files. A run that fails
/// therefore leaves no output behind, and an output that cannot be written costs no simulation time.
/// Rules (docs/architecture.md, "Output files"):
/// <list type="bullet">
/// <item><c>-</c> is standard output; the command's own text report is then not printed, so standard output carries one document.</item>
/// <item>An existing path that is not a regular file (character or block device, FIFO, <c>/dev/fd/N</c>) is written in place.</item>
/// <item>A symbolic link is followed: its final target is written (replaced if it is a regular file or does not exist, in place otherwise); the link stays.</item>
/// <item>Only regular files and new paths go through a temporary file and a rename in the target's directory; the replaced file keeps its permissions.</item>
/// </list>
/// </summary>
public sealed class CommandOutputs
{
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly TextWriter _stdout;
    private readonly List<OutputTarget> _targets = new();
    private readonly List<(string Option, string Path, string Identity)> _inputs = new();

    public CommandOutputs(TextWriter stdout)
    {
        _stdout = stdout;
    }

    /// <summary>True when an output option is <c>-</c>: the command's own text report is then not printed.</summary>
    public bool TakesStandardOutput => _targets.Exists(t => t.Kind == OutputKind.StandardOutput);

    /// <summary>Checks <paramref name="path"/> as a destination for <paramref name="option"/>; null when the option was not given.</summary>
    /// <exception cref="UsageException">the location cannot be written, or another output already names it</exception>
    [return: NotNullIfNotNull(nameof(path))]
    public OutputTarget? Claim(string option, string? path)
    {
        if (path is null)
        {
            return null;
        }

        OutputTarget target = Resolve(option, path);
        OutputTarget? same = _targets.Find(t => t.Identity == target.Identity);
        if (same is not null)
        {
            throw new UsageException(target.Kind == OutputKind.StandardOutput
                ? $"{same.Option} and {option} both write to standard output ('-'); give one of them a file"
                : $"{option}: {path} is the same file as {same.Option} {same.Path}; give each output its own file");
        }

        foreach ((string inputOption, string inputPath, string identity) in _inputs)
        {
            if (identity == target.Identity)
            {
                throw InputClash(option, path, inputOption, inputPath);
            }
        }

        _targets.Add(target);
        return target;
    }

    /// <summary>Records a file the command reads (a workload or datapoint file), so that no output replaces it.</summary>
    /// <exception cref="UsageException">an output already claimed names that file</exception>
    public void Reads(string option, string path)
    {
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return; // the loader reports the bad name
        }

        string identity;
        if (FileProbes.Stat(full, followLinks: true) is { } probe)
        {
            if (probe.Kind != FileKind.Regular)
            {
                return; // missing or not a file: nothing an output could destroy, and the loader says why
            }

            identity = probe.Identity;
        }
        else
        {
            identity = FallbackIdentity(full);
        }

        OutputTarget? same = _targets.Find(t => t.Identity == identity);
        if (same is not null)
        {
            throw InputClash(same.Option, same.Path, option, path);
        }

        _inputs.Add((option, path, identity));
    }

    private static UsageException InputClash(string option, string path, string inputOption, string inputPath)
        => new($"{option}: {path} is the {inputOption} input {inputPath}; give the output its own file");

    /// <summary>
    /// Renders and writes each output and, unless an output is <c>-</c>, <paramref name="report"/> to standard
    /// output. Every target must have been claimed on this instance; a null target (an option not given) is
    /// skipped without rendering.
    /// </summary>
    public void WriteAll(string? report, params ReadOnlySpan<(OutputTarget? Target, Func<string> Render)> outputs)
    {
        List<(OutputTarget Target, string Temporary)> staged = new();
        string? writing = null; // what is being written, for the error message
        try
        {
            foreach ((OutputTarget? target, Func<string> render) in outputs)
            {
                if (target is { Kind: OutputKind.Replace })
                {
                    Require(target);
                    writing = Describe(target);
                    staged.Add((target, Stage(target, render())));
                }
            }

            if (report is not null && !TakesStandardOutput)
            {
                writing = "cannot write standard output";
                _stdout.Write(report);
                _stdout.Flush();
            }

            foreach ((OutputTarget? target, Func<string> render) in outputs)
            {
                if (target is null or { Kind: OutputKind.Replace })
                {
                    continue;
                }

                Require(target);
                string contents = render();
                writing = Describe(target);
                if (target.Kind == OutputKind.StandardOutput)
                {
                    _stdout.Write(contents);
                    _stdout.Flush();
                }
                else
                {
                    using FileStream stream = new(target.Destination, target.Append ? FileMode.Append : FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                    stream.Write(s_utf8.GetBytes(contents));
                }
            }

            while (staged.Count > 0)
            {
                (OutputTarget target, string temporary) = staged[0];
                writing = Describe(target);
                File.Move(temporary, target.Destination, overwrite: true);
                staged.RemoveAt(0);
            }
        }
        catch (Exception e) when (writing is not null && e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{writing}: {Reason(e)}");
        }
        finally
        {
            foreach ((_, string temporary) in staged)
            {
                TryDelete(temporary);
            }
        }
    }

    private static string Describe(OutputTarget target)
        => $"{target.Option}: cannot write " + (target.Kind == OutputKind.StandardOutput ? "standard output" : target.Path);

    private void Require(OutputTarget target)
    {
        if (!_targets.Contains(target))
        {
            throw new InvalidOperationException($"output {target.Option} was not claimed before the run");
        }
    }

    private static OutputTarget Resolve(string option, string path)
    {
        if (path == "-")
        {
            return new OutputTarget(option, path, OutputKind.StandardOutput, "-", false, "-");
        }

        if (path.Length == 0)
        {
            throw new UsageException($"{option}: empty file name (use - for standard output)");
        }

        string full;
        try
        {
            if (path.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException("the name contains a NUL character");
            }

            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new UsageException($"{option}: cannot write {path}: {e.Message}");
        }

        FileProbe? probe = FileProbes.Stat(full, followLinks: true);
        if (probe?.Error is string error)
        {
            throw new UsageException($"{option}: cannot write {path}: {error}");
        }

        FileKind kind = probe?.Kind ?? (Directory.Exists(full) ? FileKind.Directory : File.Exists(full) ? FileKind.Regular : FileKind.Missing);
        switch (kind)
        {
            case FileKind.Directory:
                throw new UsageException($"{option}: {path} is a directory");
            case FileKind.Socket:
                throw new UsageException($"{option}: {path} is a socket; give a file, a FIFO or a device");
            case FileKind.Fifo or FileKind.CharacterDevice or FileKind.BlockDevice:
                RequireWritable(option, path, full);
                return new OutputTarget(option, path, OutputKind.InPlace, full, false, probe!.Value.Identity);
            case FileKind.Regular when FileProbes.IsDescriptorLink(full):
                RequireWritable(option, path, full);
                return new OutputTarget(option, path, OutputKind.InPlace, full, true, probe!.Value.Identity);
        }

        // A regular file or a new one: where a symbolic link (chain) finally points, or the path itself.
        string destination = full;
        try
        {
            if (new FileInfo(full).LinkTarget is not null)
            {
                destination = File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
            }
        }
        catch (IOException e)
        {
            throw new UsageException($"{option}: cannot write {path}: {e.Message}");
        }

        string name = Path.GetFileName(destination);
        if (name.Length == 0)
        {
            throw new UsageException($"{option}: {path} ends with a directory separator; give a file name");
        }

        string? directory = Path.GetDirectoryName(destination);
        if (directory is null || !Directory.Exists(directory))
        {
            throw new UsageException(directory is not null && File.Exists(directory)
                ? $"{option}: cannot write {path}: {directory} is not a directory"
                : $"{option}: cannot write {path}: directory does not exist");
        }

        ProbeDirectory(option, path, directory, name);
        string identity = probe is null ? FallbackIdentity(destination)
            : kind == FileKind.Regular ? probe.Value.Identity
            : (FileProbes.Stat(directory, followLinks: true) is { Kind: FileKind.Directory } d ? d.Identity : directory) + "/" + name;
        return new OutputTarget(option, path, OutputKind.Replace, destination, false, identity);
    }

    // Without statx: a file is its full path after symbolic links (hard links and directory links go unseen).
    private static string FallbackIdentity(string full)
    {
        try
        {
            return new FileInfo(full).LinkTarget is null ? full : File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
        }
        catch (IOException)
        {
            return full;
        }
    }

    private static void RequireWritable(string option, string path, string full)
    {
        if (FileProbes.CanWrite(full) == false)
        {
            throw new UsageException($"{option}: cannot write {path}: permission denied");
        }
    }

    // Creating (and removing) the temporary file proves the directory takes a new file: it exists, is
    // writable, and its file system is not read-only or out of inodes.
    private static void ProbeDirectory(string option, string path, string directory, string name)
    {
        string temporary = TemporaryName(directory, name);
        try
        {
            using (new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
            }

            File.Delete(temporary);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new UsageException($"{option}: cannot write {path}: " + (e is UnauthorizedAccessException ? $"directory {directory} is not writable" : Reason(e)));
        }
    }

    private static string Stage(OutputTarget target, string contents)
    {
        string temporary = TemporaryName(Path.GetDirectoryName(target.Destination)!, Path.GetFileName(target.Destination));
        using (FileStream stream = new(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            stream.Write(s_utf8.GetBytes(contents));
            stream.Flush(flushToDisk: true);
        }

        if (!OperatingSystem.IsWindows() && File.Exists(target.Destination))
        {
            File.SetUnixFileMode(temporary, File.GetUnixFileMode(target.Destination)); // the replaced file keeps its permissions
        }

        return temporary;
    }

    // ".NAME.PID.RANDOM.tmp" beside the target; NAME is cut to 50 characters (at most 200 bytes of UTF-8) so
    // the whole stays within NAME_MAX, 255 bytes (include/uapi/linux/limits.h)
    private static string TemporaryName(string directory, string name)
    {
        int cut = name.Length > 50 && char.IsHighSurrogate(name[49]) ? 49 : 50;
        string stem = name.Length > cut ? name[..cut] : name;
        return Path.Combine(directory, $".{stem}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
    }

    private static string Reason(Exception e) => e is UnauthorizedAccessException ? "permission denied" : e.Message;

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // best effort: the temporary file is hidden and named after the process
        }
    }
}

namespace Vmsplit.Cli.Tests;

/// <summary>Files of the repository the tests read (docs, shipped data), found from the test binary upwards.</summary>
internal static class RepoFiles
{
    private static readonly Lazy<string> s_root = new(() =>
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Vmsplit.slnx")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException("Vmsplit.slnx not found above " + AppContext.BaseDirectory);
    });

    public static string Root => s_root.Value;

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    public static string Read(string relative) => File.ReadAllText(PathOf(relative));
}

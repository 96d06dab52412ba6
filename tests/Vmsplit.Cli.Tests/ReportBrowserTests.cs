using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace Vmsplit.Cli.Tests;

/// <summary>
/// A fact that needs Chromium and its WebDriver (Debian: chromium, chromium-driver). Without them it is skipped,
/// saying so, on a developer's machine; under CI (CI=true, where .ci/run installs both) it runs and fails instead.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (ReportBrowser.Missing() is string missing && !ReportBrowser.InCi)
        {
            Skip = $"skipped: {missing} (apt-get install chromium chromium-driver; .ci/run installs them and runs this test)";
        }
    }
}

internal static class ReportBrowser
{
    public const string Chromium = "/usr/bin/chromium";
    public const string Driver = "/usr/bin/chromedriver";

    /// <summary>Where the screenshots go: a CI artefact (README, "Reports").</summary>
    public static string ScreenshotDirectory => RepoFiles.PathOf("artifacts/report-screenshots");

    public static bool InCi => Environment.GetEnvironmentVariable("CI") is "true" or "1";

    public static string? Missing() =>
        !File.Exists(Chromium) ? $"{Chromium} not found" : !File.Exists(Driver) ? $"{Driver} not found" : null;

    /// <summary>Opens <paramref name="html"/> headless, waits for every chart, saves a screenshot; returns the charts drawn and the console's errors.</summary>
    public static (int Charts, int Drawn, List<string> Errors) Open(string html, string screenshot)
    {
        Assert.True(Missing() is null, $"{Missing()}: CI must install chromium and chromium-driver");
        ChromeOptions options = new() { BinaryLocation = Chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1600");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        ChromeDriverService service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(Driver)!, Path.GetFileName(Driver));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        using ChromeDriver driver = new(service, options, TimeSpan.FromSeconds(60));
        driver.Navigate().GoToUrl(new Uri(html).AbsoluteUri);
        IJavaScriptExecutor js = driver;
        DateTime until = DateTime.UtcNow.AddSeconds(30);
        long charts = 0;
        long drawn = 0;
        while (DateTime.UtcNow < until)
        {
            charts = (long)js.ExecuteScript("return document.querySelectorAll('div.chart').length;")!;
            drawn = (long)js.ExecuteScript("return Array.from(document.querySelectorAll('div.chart')).filter(d => d.querySelector('svg.main-svg') && d.querySelectorAll('.trace').length > 0).length;")!;
            if (charts > 0 && drawn == charts)
            {
                break;
            }

            Thread.Sleep(200);
        }

        long height = (long)js.ExecuteScript("return document.body.scrollHeight;")!;
        driver.Manage().Window.Size = new System.Drawing.Size(1200, (int)Math.Min(height + 40, 16000));
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        driver.GetScreenshot().SaveAsFile(screenshot);
        List<string> errors = driver.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level >= LogLevel.Severe).Select(e => e.Message).ToList();
        return ((int)charts, (int)drawn, errors);
    }
}

/// <summary>The HTML reports open in a real headless Chromium with every chart drawn and nothing on the console.</summary>
public sealed class ReportBrowserTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vmsplit-report-" + Guid.NewGuid().ToString("N"));

    public ReportBrowserTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [ChromiumFact]
    public void TheCompareReportRendersEveryChart()
    {
        string html = Path.Combine(_dir, "compare.html");
        (int code, _, string err) = CliHarness.Run("compare", "--ops", "5", "--designs", "classic,4g4g+hybrid", "--workloads", "null,pipe,read4k", "--report", html);
        Assert.True(code == 0, err);
        (int charts, int drawn, List<string> errors) = ReportBrowser.Open(html, Path.Combine(ReportBrowser.ScreenshotDirectory, "compare.png"));
        Assert.Equal(6, charts); // overhead, causes, budget, TLB misses, flushes, walks
        Assert.Equal(charts, drawn);
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public void TheSweepReportRendersEveryChart()
    {
        string results = Path.Combine(_dir, "smoke");
        Assert.Equal(0, CliHarness.Run("sweep", RepoFiles.PathOf("sweeps/smoke.yaml"), "--out", results).Code);
        string html = Path.Combine(_dir, "smoke.html");
        (int code, _, string err) = CliHarness.Run("report", results, "--out", html);
        Assert.True(code == 0, err);
        (int charts, int drawn, List<string> errors) = ReportBrowser.Open(html, Path.Combine(ReportBrowser.ScreenshotDirectory, "sweep-smoke.png"));
        Assert.Equal(4, charts); // against RAM: time, overhead, TLB misses; causes
        Assert.Equal(charts, drawn);
        Assert.Empty(errors);
    }
}

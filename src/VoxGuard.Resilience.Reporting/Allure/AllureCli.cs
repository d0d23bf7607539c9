using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace VoxGuard.Resilience.Reporting.Allure;

/// <summary>What the Allure CLI is told when it renders a run (written as <c>allurerc.json</c> in the run directory).</summary>
/// <param name="ReportName">The report's title.</param>
/// <param name="HistoryPath">The history file shared by every run (<c>reports/history.jsonl</c>): each generation appends one entry, so monthly drills show trends.</param>
/// <param name="AppendHistory">False when regenerating a run already in the history, so it is counted once.</param>
/// <param name="Categories">The defect categories (Allure 3 takes them from its configuration, not from categories.json).</param>
public sealed record AllureReportConfig(string ReportName, string HistoryPath, bool AppendHistory, IReadOnlyList<AllureCategory> Categories);

/// <summary>
/// The real Allure 3 CLI (npm package <c>allure</c>, installed by <c>./resilience</c> into <c>tools/node_modules</c>):
/// renders a results directory as the HTML report with <c>allure generate --config &lt;allurerc.json&gt; --output
/// &lt;dir&gt; &lt;results&gt;</c>.
/// </summary>
public sealed partial class AllureCli
{
    /// <summary>Where <c>./resilience</c> installs the CLI, relative to the repository.</summary>
    public const string RelativePath = "tools/node_modules/.bin/allure";

    /// <summary>What to tell a user whose CLI is missing.</summary>
    public const string InstallHint = "run ./resilience (it installs the npm tools of tools/package.json), or: npm install --prefix tools";

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Uses the CLI at <paramref name="executable"/>.</summary>
    public AllureCli(string executable)
    {
        ArgumentNullException.ThrowIfNull(executable);
        Executable = Path.GetFullPath(executable);
    }

    /// <summary>The CLI's path.</summary>
    public string Executable { get; }

    /// <summary>How long a generation may take before it is killed.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>The CLI of the repository at <paramref name="repository"/>, or null when it is not installed.</summary>
    public static AllureCli? Find(string repository)
    {
        ArgumentNullException.ThrowIfNull(repository);
        var path = Path.Combine(repository, RelativePath);
        return File.Exists(path) ? new AllureCli(path) : null;
    }

    /// <summary>The CLI's version, e.g. 3.18.0.</summary>
    public async Task<string> VersionAsync(CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(["--version"], null, cancellationToken).ConfigureAwait(false);
        return result.Output.Trim();
    }

    /// <summary>
    /// Renders <paramref name="resultsDirectory"/> into <paramref name="outputDirectory"/> (replaced), with the
    /// configuration written to <paramref name="configPath"/>; returns the report's index.html. The report is then made
    /// to stay offline: Allure's page embeds Google Analytics, which this harness must not call, so that script is removed.
    /// </summary>
    public async Task<string> GenerateAsync(string resultsDirectory, string outputDirectory, string configPath, AllureReportConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        var configuration = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["name"] = config.ReportName,
            ["historyPath"] = Path.GetFullPath(config.HistoryPath),
            ["appendHistory"] = config.AppendHistory,
            ["categories"] = config.Categories,
        };
        await File.WriteAllTextAsync(configPath, JsonSerializer.Serialize(configuration, AllureResult.Json), new UTF8Encoding(false), cancellationToken).ConfigureAwait(false);
        if (Directory.Exists(outputDirectory))
        {
            Directory.Delete(outputDirectory, recursive: true);
        }

        var result = await RunAsync(["generate", "--config", Path.GetFullPath(configPath), "--output", Path.GetFullPath(outputDirectory), Path.GetFullPath(resultsDirectory)],
            Path.GetDirectoryName(Path.GetFullPath(configPath)), cancellationToken).ConfigureAwait(false);
        var index = Path.Combine(outputDirectory, "index.html");
        if (result.ExitCode != 0 || !File.Exists(index))
        {
            throw new ReportException($"{Executable} generate failed (exit code {result.ExitCode}): {Tail(result.Error + result.Output)}");
        }

        foreach (var page in Directory.EnumerateFiles(outputDirectory, "*.html", SearchOption.AllDirectories))
        {
            var html = await File.ReadAllTextAsync(page, cancellationToken).ConfigureAwait(false);
            var offline = RemoveAnalytics(html);
            if (!string.Equals(offline, html, StringComparison.Ordinal))
            {
                await File.WriteAllTextAsync(page, offline, new UTF8Encoding(false), cancellationToken).ConfigureAwait(false);
            }
        }

        return index;
    }

    /// <summary>The page without Allure's Google Analytics scripts (the loader and the gtag configuration).</summary>
    public static string RemoveAnalytics(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        return AnalyticsScripts().Replace(html, string.Empty);
    }

    [GeneratedRegex(@"<script[^>]*googletagmanager\.com[^>]*>\s*</script>\s*(<script>(?:(?!</script>)[\s\S])*gtag\((?:(?!</script>)[\s\S])*</script>)?", RegexOptions.IgnoreCase)]
    private static partial Regex AnalyticsScripts();

    private async Task<ProcessResult> RunAsync(IReadOnlyList<string> arguments, string? workingDirectory, CancellationToken cancellationToken)
    {
        try
        {
            return await ProcessRunner.RunAsync(Executable, arguments, workingDirectory, Timeout,
                new Dictionary<string, string>(StringComparer.Ordinal) { ["NO_COLOR"] = "1", ["FORCE_COLOR"] = "0" }, cancellationToken).ConfigureAwait(false);
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            throw new ReportException($"The Allure CLI at {Executable} cannot run ({exception.Message}); it needs Node.js 20: {InstallHint}.", exception);
        }
        catch (TimeoutException exception)
        {
            throw new ReportException(exception.Message, exception);
        }
    }

    private static string Tail(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "no output" : string.Join(" | ", lines.TakeLast(8));
    }
}

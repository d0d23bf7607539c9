using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Reporting.Allure;
using VoxGuard.Resilience.Reporting.Charts;
using VoxGuard.Resilience.Reporting.Compliance;
using VoxGuard.Resilience.Reporting.Inputs;
using VoxGuard.Resilience.Reporting.JUnit;
using VoxGuard.Resilience.Reporting.Privacy;
using VoxGuard.Resilience.Reporting.Records;

namespace VoxGuard.Resilience.Reporting;

/// <summary>How a report is built; every property has a working default.</summary>
public sealed record ReportOptions
{
    /// <summary>The Allure CLI that renders the HTML; null: no HTML (the summary says why).</summary>
    public AllureCli? AllureCli { get; init; }

    /// <summary>The history file shared by runs; default <c>history.jsonl</c> beside the run directory (<c>reports/history.jsonl</c>).</summary>
    public string? HistoryPath { get; init; }

    /// <summary>The harness's commit for the drill record; default "unknown".</summary>
    public string HarnessCommit { get; init; } = "unknown (not given)";

    /// <summary>Who ran the drill; default the operating-system user.</summary>
    public string User { get; init; } = System.Environment.UserName;

    /// <summary>The machine; default this one's name.</summary>
    public string Host { get; init; } = System.Environment.MachineName;

    /// <summary>The clock the record's time comes from.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Thresholds on the charts.</summary>
    public TimelineChartOptions Chart { get; init; } = TimelineChartOptions.Documented;
}

/// <summary>What a build wrote.</summary>
/// <param name="RunDirectory">The run.</param>
/// <param name="ResultsDirectory">allure-results/.</param>
/// <param name="JUnitPath">junit.xml.</param>
/// <param name="RecordJsonPath">drill-record.json.</param>
/// <param name="RecordMarkdownPath">drill-record.md.</param>
/// <param name="HtmlIndexPath">allure-report/index.html, or null when no HTML was rendered.</param>
/// <param name="HtmlNote">Why there is no HTML, or null.</param>
/// <param name="Record">The drill record.</param>
/// <param name="Results">The Allure results written.</param>
/// <param name="Warnings">Evidence that could not be used (a chart that failed), each naming the file.</param>
public sealed record ReportSummary(string RunDirectory, string ResultsDirectory, string JUnitPath, string RecordJsonPath, string RecordMarkdownPath,
    string? HtmlIndexPath, string? HtmlNote, DrillRecord Record, IReadOnlyList<AllureResult> Results, IReadOnlyList<string> Warnings);

/// <summary>
/// Builds the compliance report of a run from what its scenarios wrote (<c>&lt;run&gt;/scenarios/</c>: scenario reports,
/// evidence files, <c>outcomes/</c>): <c>charts/</c> (a timeline PNG per scenario), <c>allure-results/</c>,
/// <c>junit.xml</c>, <c>drill-record.json</c> + <c>.md</c>, and <c>allure-report/</c> when the Allure CLI is installed.
/// Everything it writes is regenerated on each build; the scenarios' files are only scrubbed of secrets.
/// </summary>
public static class ReportBuilder
{
    /// <summary>The Allure results folder in a run directory.</summary>
    public const string ResultsFolder = "allure-results";

    /// <summary>The rendered report folder in a run directory.</summary>
    public const string HtmlFolder = "allure-report";

    /// <summary>The charts folder in a run directory.</summary>
    public const string ChartsFolder = "charts";

    /// <summary>The JUnit file in a run directory.</summary>
    public const string JUnitFile = "junit.xml";

    /// <summary>The Allure configuration written for the CLI in a run directory.</summary>
    public const string AllureConfigFile = "allurerc.json";

    /// <summary>Builds the report of <paramref name="runDirectory"/>; throws <see cref="ReportException"/> on bad input.</summary>
    public static async Task<ReportSummary> BuildAsync(string runDirectory, ReportOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ReportOptions();
        var run = RunInputs.Read(runDirectory);
        // Scrub first, so neither the copies nor the originals the record hashes carry a secret.
        ScrubEvidence(run.ScenariosDirectory);
        run = RunInputs.Read(runDirectory);

        var tests = ScenarioTest.Join(run);
        var context = ContextOf(run, options);
        var warnings = new List<string>();
        var charts = RenderCharts(run, options, warnings);

        var resultsDirectory = Path.Combine(run.RunDirectory, ResultsFolder);
        Recreate(resultsDirectory);
        var writer = new AllureResultsWriter(resultsDirectory);
        var results = new List<AllureResult>();
        foreach (var test in tests)
        {
            var result = AllureResultFactory.Create(test, context, writer, charts);
            writer.Write(result);
            results.Add(result);
        }

        var properties = Properties(context, options.HarnessCommit);
        writer.WriteEnvironment(properties);
        writer.WriteExecutor("VoxGuard.Resilience", run.RunId, ReportName(context));
        writer.WriteCategories(AllureCategories.All);

        var junit = Path.Combine(run.RunDirectory, JUnitFile);
        JUnitWriter.Write(results, junit, run.RunId, properties);

        var record = DrillRecordWriter.Build(context, tests, options.HarnessCommit, options.TimeProvider.GetUtcNow(), EvidenceHashes.Of(run.RunDirectory));
        var (recordJson, recordMarkdown) = DrillRecordWriter.Write(record, run.RunDirectory);

        string? html = null;
        string? note;
        if (options.AllureCli is { } cli)
        {
            var output = Path.Combine(run.RunDirectory, HtmlFolder);
            // A run already rendered is already in the history: regenerating it must not count it twice.
            var config = new AllureReportConfig(ReportName(context), options.HistoryPath ?? DefaultHistoryPath(run.RunDirectory), AppendHistory: !Directory.Exists(output), AllureCategories.All);
            html = await cli.GenerateAsync(resultsDirectory, output, Path.Combine(run.RunDirectory, AllureConfigFile), config, cancellationToken).ConfigureAwait(false);
            note = null;
        }
        else
        {
            note = $"HTML report not rendered: the Allure CLI is not installed ({AllureCli.RelativePath}); {AllureCli.InstallHint}. The results in {ResultsFolder}/ are complete.";
        }

        return new ReportSummary(run.RunDirectory, resultsDirectory, junit, recordJson, recordMarkdown, html, note, record, results, warnings);
    }

    /// <summary>The newest run directory (by its scenarios folder's last change) under <paramref name="reportsDirectory"/>.</summary>
    public static string LatestRun(string reportsDirectory)
    {
        ArgumentNullException.ThrowIfNull(reportsDirectory);
        var runs = Directory.Exists(reportsDirectory)
            ? Directory.EnumerateDirectories(reportsDirectory).Where(directory => Directory.Exists(Path.Combine(directory, RunInputs.ScenariosFolder))).ToList()
            : [];
        return runs.Count == 0
            ? throw new ReportException($"No run under {Path.GetFullPath(reportsDirectory)} (a run is a directory with a scenarios/ folder). Run ./resilience drill first.")
            : runs.OrderByDescending(directory => Directory.GetLastWriteTimeUtc(Path.Combine(directory, RunInputs.ScenariosFolder))).ThenByDescending(directory => directory, StringComparer.Ordinal).First();
    }

    /// <summary>The history file shared by the runs beside <paramref name="runDirectory"/>.</summary>
    public static string DefaultHistoryPath(string runDirectory) =>
        Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(runDirectory)))!, "history.jsonl");

    private static ReportContext ContextOf(RunInputs run, ReportOptions options)
    {
        // Every scenario of a run shares its environment and profile; take the commonest in case one differs.
        static string Commonest(IEnumerable<string?> values) =>
            values.Where(value => !string.IsNullOrEmpty(value)).GroupBy(value => value!, StringComparer.Ordinal).OrderByDescending(group => group.Count()).Select(group => group.Key).FirstOrDefault() ?? "unknown";
        return new ReportContext(run.RunId, Commonest(run.Reports.Select(report => report.Environment)), Commonest(run.Reports.Select(report => report.Profile)),
            options.Host, options.User, run.ScenariosDirectory);
    }

    private static Dictionary<ScenarioReport, string> RenderCharts(RunInputs run, ReportOptions options, List<string> warnings)
    {
        var chartsDirectory = Path.Combine(run.RunDirectory, ChartsFolder);
        Recreate(chartsDirectory);
        var charts = new Dictionary<ScenarioReport, string>(ReferenceEqualityComparer.Instance);
        foreach (var report in run.Reports)
        {
            var callsFile = report.Attachments.FirstOrDefault(attachment => attachment.File.EndsWith("-calls.csv", StringComparison.Ordinal));
            var lagFile = report.Attachments.FirstOrDefault(attachment => attachment.File.EndsWith("-lag.csv", StringComparison.Ordinal));
            try
            {
                var calls = callsFile is not null && File.Exists(Path.Combine(run.ScenariosDirectory, callsFile.File)) ? EvidenceCsv.ReadCalls(Path.Combine(run.ScenariosDirectory, callsFile.File)) : [];
                var lag = lagFile is not null && File.Exists(Path.Combine(run.ScenariosDirectory, lagFile.File)) ? EvidenceCsv.ReadLag(Path.Combine(run.ScenariosDirectory, lagFile.File)) : [];
                var path = Path.Combine(chartsDirectory, $"{report.Scenario}-timeline.png");
                // Two reports of one scenario name in a run (a rerun) keep both charts.
                for (var copy = 2; charts.ContainsValue(path); copy++)
                {
                    path = Path.Combine(chartsDirectory, $"{report.Scenario}-{copy}-timeline.png");
                }

                TimelineChart.Render(report, calls, lag, path, options.Chart);
                charts[report] = path;
            }
            catch (ReportException exception)
            {
                warnings.Add($"no chart for {report.Scenario}: {exception.Message}");
            }
        }

        return charts;
    }

    private static void ScrubEvidence(string scenariosDirectory)
    {
        foreach (var path in Directory.EnumerateFiles(scenariosDirectory, "*", SearchOption.AllDirectories))
        {
            var extension = Path.GetExtension(path).ToLowerInvariant();
            if (extension is not (".json" or ".txt" or ".csv" or ".log" or ".md" or ".yaml" or ".xml"))
            {
                continue;
            }

            var text = File.ReadAllText(path);
            var scrubbed = SecretScrubber.Scrub(text);
            if (!string.Equals(text, scrubbed, StringComparison.Ordinal))
            {
                File.WriteAllText(path, scrubbed);
            }
        }
    }

    private static List<KeyValuePair<string, string>> Properties(ReportContext context, string harnessCommit) =>
    [
        new("run", context.RunId),
        new("environment", context.Environment),
        new("profile", context.Profile),
        new("host", context.Host),
        new("user", context.User),
        new("harness.commit", harnessCommit),
        new("os", System.Runtime.InteropServices.RuntimeInformation.OSDescription),
        new("dotnet", System.Environment.Version.ToString()),
    ];

    private static string ReportName(ReportContext context) => $"VoxGuard DR drill {context.RunId} ({context.Environment}/{context.Profile})";

    private static void Recreate(string directory)
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        Directory.CreateDirectory(directory);
    }
}

using System.Text.Json;
using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Reporting.Inputs;

/// <summary>
/// What the scenarios of one run left in <c>&lt;run&gt;/scenarios/</c>: every scenario report (<c>&lt;scenario&gt;.json</c>)
/// and every test outcome (<c>outcomes/*.json</c>).
/// </summary>
/// <param name="RunDirectory">The run directory (<c>reports/&lt;run-id&gt;</c>).</param>
/// <param name="Reports">The scenario reports, oldest first.</param>
/// <param name="Outcomes">The test outcomes, oldest first.</param>
public sealed record RunInputs(string RunDirectory, IReadOnlyList<ScenarioReport> Reports, IReadOnlyList<TestOutcome> Outcomes)
{
    /// <summary>The folder the scenarios write into, inside a run directory.</summary>
    public const string ScenariosFolder = RunLayout.ScenariosFolder;

    /// <summary>The folder of test outcomes, inside the scenarios folder.</summary>
    public const string OutcomesFolder = RunLayout.OutcomesFolder;

    // Case-insensitive: outcome files of older harness versions were written with the web defaults.
    private static readonly JsonSerializerOptions OutcomeJson = new(ScenarioReport.Json) { PropertyNameCaseInsensitive = true };

    // The evidence files an older report wrote beside itself without listing them (name suffixes).
    private static readonly ScenarioAttachment[] UnlistedEvidence =
    [
        new("call timeline (CSV)", "calls.csv", "text/csv"),
        new("replication lag samples (CSV)", "lag.csv", "text/csv"),
    ];

    /// <summary>The scenarios folder of this run.</summary>
    public string ScenariosDirectory => Path.Combine(RunDirectory, ScenariosFolder);

    /// <summary>The run's name (its directory's name), e.g. 20260203T101500Z-gate-local-ci.</summary>
    public string RunId => Path.GetFileName(Path.TrimEndingDirectorySeparator(RunDirectory));

    /// <summary>Reads a run directory; throws <see cref="ReportException"/> when it is missing or holds no scenario output.</summary>
    public static RunInputs Read(string runDirectory)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        var run = Path.GetFullPath(runDirectory);
        if (!Directory.Exists(run))
        {
            throw new ReportException($"No run directory {run}. Pass a directory under reports/ (./resilience report --run reports/<run-id>) or 'latest'.");
        }

        var scenarios = Path.Combine(run, ScenariosFolder);
        if (!Directory.Exists(scenarios))
        {
            throw new ReportException($"{run} has no {ScenariosFolder}/ folder: it is not a run directory. A drill writes reports/<time>-<suite>-<env>-<profile>/{ScenariosFolder}/; run ./resilience drill first, or pass that run's directory.");
        }

        var reports = Directory.EnumerateFiles(scenarios, "*.json").Select(TryReadReport).OfType<ScenarioReport>()
            .OrderBy(report => report.FinishedAt).ThenBy(report => report.Scenario, StringComparer.Ordinal).ToList();
        var outcomesDirectory = Path.Combine(scenarios, OutcomesFolder);
        var outcomes = Directory.Exists(outcomesDirectory)
            ? Directory.EnumerateFiles(outcomesDirectory, "*.json").Select(ReadOutcome).OrderBy(outcome => outcome.Start).ThenBy(outcome => outcome.FullName, StringComparer.Ordinal).ToList()
            : [];
        if (reports.Count == 0 && outcomes.Count == 0)
        {
            throw new ReportException($"{scenarios} holds no scenario report (<scenario>.json) and no test outcome ({OutcomesFolder}/*.json): the scenarios did not run. Run ./resilience drill, or check its output for why nothing ran.");
        }

        return new RunInputs(run, reports, outcomes);
    }

    /// <summary>
    /// The scenario report in <paramref name="path"/>, or null when the file is another JSON file of the folder (the
    /// topology state attachment is JSON too): a report is an object with a scenario name and verdicts.
    /// </summary>
    public static ScenarioReport? TryReadReport(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("scenario", out var name) || name.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("verdicts", out var verdicts) || verdicts.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
        }
        catch (JsonException)
        {
            return null;
        }

        try
        {
            var report = JsonSerializer.Deserialize<ScenarioReport>(text, ScenarioReport.Json)!;
            // Reports of older harness versions: lists may be absent (read as empty), the start time too (estimated from
            // the latest offset they hold), and the evidence files were not listed (found by their names).
            report = report with
            {
                Faults = report.Faults ?? [],
                Transitions = report.Transitions ?? [],
                Lag = report.Lag ?? [],
                Steps = report.Steps ?? [],
                Attachments = report.Attachments ?? [],
                ServerEvents = report.ServerEvents ?? [],
            };
            if (report.StartedAt == default)
            {
                var latest = report.Faults.Select(fault => fault.End ?? fault.Start).Concat(report.Transitions.Select(transition => transition.At))
                    .Concat(report.Steps.Select(step => step.Stop)).DefaultIfEmpty(TimeSpan.Zero).Max();
                report = report with { StartedAt = report.FinishedAt - latest };
            }

            if (report.Attachments.Count == 0)
            {
                var directory = Path.GetDirectoryName(path)!;
                report = report with
                {
                    Attachments = [.. UnlistedEvidence.Select(evidence => evidence with { File = $"{report.Scenario}-{evidence.File}" })
                        .Where(evidence => File.Exists(Path.Combine(directory, evidence.File)))],
                };
            }

            return report;
        }
        catch (JsonException exception)
        {
            throw new ReportException($"{path} looks like a scenario report but cannot be read ({exception.Message}); was it written by another version of the harness?", exception);
        }
    }

    /// <summary>The test outcome in <paramref name="path"/>, or null while it cannot be read yet (being written).</summary>
    public static TestOutcome? TryReadOutcome(string path)
    {
        try
        {
            return ReadOutcome(path);
        }
        catch (Exception exception) when (exception is ReportException or IOException)
        {
            return null;
        }
    }

    private static TestOutcome ReadOutcome(string path)
    {
        try
        {
            var outcome = JsonSerializer.Deserialize<TestOutcome>(File.ReadAllText(path), OutcomeJson);
            return outcome is { FullName: not null, Status: not null }
                ? outcome
                : throw new ReportException($"{path} is not a test outcome (no fullName or status); delete it or rerun the scenarios.");
        }
        catch (JsonException exception)
        {
            throw new ReportException($"{path} is not a readable test outcome ({exception.Message}); delete it or rerun the scenarios.", exception);
        }
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Reporting.Allure;
using VoxGuard.Resilience.Reporting.Compliance;
using VoxGuard.Resilience.Reporting.Inputs;
using VoxGuard.Resilience.Reporting.Privacy;

namespace VoxGuard.Resilience.Reporting.Records;

/// <summary>Builds a <see cref="DrillRecord"/> from a run and writes it as <c>drill-record.json</c> and <c>drill-record.md</c>.</summary>
public static class DrillRecordWriter
{
    /// <summary>The record's JSON file name in the run directory.</summary>
    public const string JsonFile = "drill-record.json";

    /// <summary>The record's Markdown file name in the run directory.</summary>
    public const string MarkdownFile = "drill-record.md";

    // A region's loss gives some 30 events in its first minute; the Markdown is for reading, the JSON keeps them all.
    private const int MaxServerEventsShown = 40;

    /// <summary>The record of a run: its tests as judged, its targets, the NCC items they evidence, the evidence files' hashes.</summary>
    public static DrillRecord Build(ReportContext context, IReadOnlyList<ScenarioTest> tests, string harnessCommit, DateTimeOffset recordedAt, IReadOnlyList<DrillEvidenceEntry> evidence)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(tests);
        var entries = tests.Select(test =>
        {
            var judgement = TestJudgement.Of(test);
            return new DrillTestEntry(test.FullName, Status(judgement.Status), test.IsNegativeControl, [.. test.Reports.Select(report => report.Scenario)],
                judgement.Message is null ? null : SecretScrubber.Scrub(judgement.Message));
        }).ToList();
        var targets = tests.SelectMany(test => test.Reports.SelectMany(report => report.Verdicts.Select(verdict =>
        {
            var control = verdict.NegativeControl;
            var outcome = control
                ? verdict.Passed ? "met (not what the control breaks)" : "missed as designed"
                : verdict.Passed ? "met" : "missed";
            return new DrillTargetEntry(verdict.Scenario, verdict.Target, verdict.Kind, control, verdict.Measured, verdict.Required, outcome,
                verdict.Detail is null ? null : SecretScrubber.Scrub(verdict.Detail), NccChecklist.ItemsEvidencedBy(verdict.Kind));
        }))).ToList();

        // A control's target is no evidence about the deployment: it ran a configuration broken on purpose.
        var evidential = targets.Where(target => !target.NegativeControl).ToList();
        var ncc = NccChecklist.Items.Select(item =>
        {
            var relevant = evidential.Where(target => target.NccItems.Contains(item.Id)).ToList();
            var met = relevant.Count(target => target.Verdict == "met");
            // A drill supports or contradicts a requirement; it cannot prove an SLA, so it never says "met".
            var evidence = item.EvidencedBy.Count == 0 ? "not evidenced by a drill"
                : relevant.Count == 0 ? "not evidenced by this run (no scenario measured it)"
                : met == relevant.Count ? "supported" : "contradicted";
            return new DrillNccEntry(item.Id, item.Requirement, evidence, relevant.Count, met);
        }).ToList();

        var missed = evidential.Count(target => target.Verdict == "missed");
        var broken = entries.Count(entry => entry.Status == "broken");
        var conclusion = broken > 0
            ? $"NOT TRUSTWORTHY: {broken} test(s) broken (harness or infrastructure error){(missed > 0 ? $"; {missed} target(s) missed" : string.Empty)}"
            : missed > 0 ? $"{missed} of {evidential.Count} target(s) MISSED"
            : evidential.Count == 0 ? "NO TARGET MEASURED"
            : $"every target met ({evidential.Count})";
        var reports = tests.SelectMany(test => test.Reports).ToList();
        return new DrillRecord
        {
            RunId = context.RunId,
            Conclusion = conclusion,
            Environment = context.Environment,
            Profile = context.Profile,
            User = context.User,
            Host = context.Host,
            HarnessCommit = harnessCommit,
            StartedAt = tests.Count == 0 ? recordedAt : tests.Min(test => test.Start),
            FinishedAt = tests.Count == 0 ? recordedAt : tests.Max(test => test.Stop),
            RecordedAt = recordedAt,
            Tests = entries,
            Targets = targets,
            Scenarios = [.. reports.Select(ScenarioEntry)],
            Ncc = ncc,
            Evidence = evidence,
        };
    }

    private static DrillScenarioEntry ScenarioEntry(ScenarioReport report) =>
        new(report.Scenario, report.NegativeControl,
            [.. report.Steps.OrderBy(step => step.Start).Select(step => new DrillStepEntry(step.Name, step.Within, Round(step.Start), Round(step.Duration), step.Status))])
        {
            Faults = [.. report.Faults.OrderBy(fault => fault.Start).Select(fault => new DrillFaultEntry(fault.Name, Round(fault.Start), fault.End is { } end ? Round(end) : null))],
            ServerEvents = report.Faults.Count == 0 ? []
                : [.. ServerAccount.AroundTheFaults(report).Select(said => new DrillServerEventEntry(Round(said.At), said.Server, SecretScrubber.Scrub(said.Event)))],
            ServerLogs = report.Attachments.Any(attachment => attachment.File == RunLayout.ServerLogsFileOf(report.Scenario))
                ? $"{RunLayout.ScenariosFolder}/{RunLayout.ServerLogsFileOf(report.Scenario)}"
                : null,
        };

    /// <summary>
    /// Each scenario that injected a fault: its faults, then what the servers said from a second before the first
    /// (at most <see cref="MaxServerEventsShown"/> rows; the JSON has them all) — the failover its verdicts measured,
    /// in the servers' own words, beside the measurement.
    /// </summary>
    private static void AppendServerAccounts(StringBuilder text, DrillRecord record)
    {
        var culture = CultureInfo.InvariantCulture;
        var faulted = record.Scenarios.Where(scenario => scenario.Faults.Count > 0).ToList();
        if (faulted.Count == 0)
        {
            return;
        }

        text.AppendLine().AppendLine("## The faults in the servers' own words").AppendLine();
        text.AppendLine("What each server said about itself from a second before a scenario's first fault: Patroni taking the leader lock and promoting, PostgreSQL's new timeline, each Sentinel's vote and switch, Redis's role, etcd's quorum leader, the balancer marking a region DOWN or UP. The verdicts above come from the harness's own measurements; these lines explain them. Times are seconds from the scenario's start, when the harness read the line.").AppendLine();
        foreach (var scenario in faulted)
        {
            text.AppendLine(culture, $"### {Cell(scenario.Scenario)}{(scenario.NegativeControl ? " (negative control)" : string.Empty)}").AppendLine();
            var faults = scenario.Faults.Select(fault => string.Create(culture, $"{Cell(fault.Name)} at {fault.StartSeconds:F1} s{(fault.EndSeconds is { } end ? string.Create(culture, $" (removed at {end:F1} s)") : string.Empty)}"));
            text.AppendLine(culture, $"Faults: {string.Join("; ", faults)}.{(scenario.ServerLogs is null ? string.Empty : $" Every line the servers wrote: `{Cell(scenario.ServerLogs)}`.")}").AppendLine();
            if (scenario.ServerEvents.Count == 0)
            {
                text.AppendLine("The servers said nothing about a role, a lock or a region from then on.").AppendLine();
                continue;
            }

            text.AppendLine("| at (s) | server | what it said |").AppendLine("|---|---|---|");
            foreach (var said in scenario.ServerEvents.Take(MaxServerEventsShown))
            {
                text.AppendLine(culture, $"| {said.AtSeconds:F3} | {Cell(said.Server)} | {Cell(said.Event)} |");
            }

            if (scenario.ServerEvents.Count > MaxServerEventsShown)
            {
                text.AppendLine(culture, $"| | | … and {scenario.ServerEvents.Count - MaxServerEventsShown} more in {JsonFile} |");
            }

            text.AppendLine();
        }
    }

    /// <summary>
    /// The recoveries from backups (scenarios with a DR verdict): their DR and retention verdicts, and every phase and
    /// restore step with its time — what the NCC's disaster-recovery and retention items rest on.
    /// </summary>
    private static void AppendDisasterRecovery(StringBuilder text, DrillRecord record)
    {
        var culture = CultureInfo.InvariantCulture;
        var recoveries = record.Scenarios
            .Where(scenario => record.Targets.Any(target => target.Scenario == scenario.Scenario && TargetKinds.IsDisasterRecovery(target.Kind)))
            .ToList();
        if (recoveries.Count == 0)
        {
            return;
        }

        text.AppendLine().AppendLine("## Disaster recovery: all regions down").AppendLine();
        foreach (var scenario in recoveries)
        {
            text.AppendLine(culture, $"### {Cell(scenario.Scenario)}{(scenario.NegativeControl ? " (negative control)" : string.Empty)}").AppendLine();
            text.AppendLine("| target | measured | required | verdict |").AppendLine("|---|---|---|---|");
            foreach (var target in record.Targets.Where(target => target.Scenario == scenario.Scenario && (TargetKinds.IsDisasterRecovery(target.Kind) || target.Kind == TargetKind.Retention)))
            {
                text.AppendLine(culture, $"| {TargetKinds.Label(target.Kind)}: {Cell(target.Target)} | {Cell(target.Measured)} | {Cell(target.Required)} | {target.Verdict} |");
            }

            text.AppendLine().AppendLine("| at (s) | took (s) | step |").AppendLine("|---|---|---|");
            foreach (var step in scenario.Steps)
            {
                var name = step.Within is null ? Cell(step.Name) : "&nbsp;&nbsp;↳ " + Cell(step.Name);
                text.AppendLine(culture, $"| {step.StartSeconds:F1} | {step.Seconds:F2} | {name}{(step.Status == "passed" ? string.Empty : $" ({step.Status})")} |");
            }

            text.AppendLine();
        }
    }

    private static double Round(TimeSpan value) => Math.Round(value.TotalSeconds, 3);

    /// <summary>Writes <c>drill-record.json</c> and <c>drill-record.md</c> into the run directory; returns their paths.</summary>
    public static (string Json, string Markdown) Write(DrillRecord record, string runDirectory)
    {
        ArgumentNullException.ThrowIfNull(record);
        var json = Path.Combine(runDirectory, JsonFile);
        var markdown = Path.Combine(runDirectory, MarkdownFile);
        File.WriteAllText(json, JsonSerializer.Serialize(record, DrillRecord.Json), new UTF8Encoding(false));
        File.WriteAllText(markdown, Markdown(record), new UTF8Encoding(false));
        return (json, markdown);
    }

    /// <summary>The record as Markdown, for a person.</summary>
    public static string Markdown(DrillRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var culture = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(culture, $"# Disaster-recovery drill record: {record.RunId}").AppendLine();
        text.AppendLine(culture, $"**Conclusion: {record.Conclusion}**").AppendLine();
        text.AppendLine("| | |").AppendLine("|---|---|");
        text.AppendLine(culture, $"| environment / profile | {Cell(record.Environment)} / {Cell(record.Profile)} |");
        text.AppendLine(culture, $"| run by | {Cell(record.User)} on {Cell(record.Host)} |");
        text.AppendLine(culture, $"| ran | {Utc(record.StartedAt)} → {Utc(record.FinishedAt)} |");
        text.AppendLine(culture, $"| recorded | {Utc(record.RecordedAt)} |");
        text.AppendLine(culture, $"| harness commit | {Cell(record.HarnessCommit)} |");
        text.AppendLine(culture, $"| run directory | reports/{Cell(record.RunId)} |").AppendLine();

        text.AppendLine("## Targets: measured vs required").AppendLine();
        text.AppendLine("| scenario | target | kind | measured | required | verdict | NCC items |").AppendLine("|---|---|---|---|---|---|---|");
        foreach (var target in record.Targets)
        {
            var verdict = target.Verdict == "missed" ? "**MISSED**" : target.Verdict;
            text.AppendLine(culture, $"| {Cell(target.Scenario)} | {Cell(target.Target)} | {TargetKinds.Label(target.Kind)} | {Cell(target.Measured)} | {Cell(target.Required)} | {verdict} | {string.Join(", ", target.NccItems)} |");
        }

        text.AppendLine().AppendLine("Negative controls (scenarios `negative-control-…`) run a configuration broken on purpose: their target is expected to miss (\"missed as designed\"), which shows the check can fail. They are not evidence about the deployment and are not counted as missed targets.").AppendLine();

        AppendDisasterRecovery(text, record);
        AppendServerAccounts(text, record);
        text.AppendLine("## Tests").AppendLine();
        text.AppendLine("| test | status | scenarios | why |").AppendLine("|---|---|---|---|");
        foreach (var test in record.Tests)
        {
            text.AppendLine(culture, $"| {Cell(test.Test)}{(test.NegativeControl ? " (negative control)" : string.Empty)} | {test.Status} | {Cell(string.Join(", ", test.Scenarios))} | {Cell(test.Message ?? string.Empty)} |");
        }

        text.AppendLine().AppendLine("## NCC compliance checklist (multi-region deployment guide)").AppendLine();
        text.AppendLine("| requirement | evidence from this drill |").AppendLine("|---|---|");
        foreach (var item in record.Ncc)
        {
            var evidence = item.Targets == 0 ? item.Evidence
                : item.TargetsMet == item.Targets ? $"{item.Evidence}: all {item.Targets} related target(s) met"
                : $"{item.Evidence}: {item.Targets - item.TargetsMet} of {item.Targets} related target(s) missed";
            text.AppendLine(culture, $"| {Cell(item.Requirement)} | {Cell(evidence)} |");
        }

        text.AppendLine().AppendLine("## Evidence files (SHA-256)").AppendLine();
        text.AppendLine("Verify with `./resilience report --run reports/" + record.RunId + " --verify`: every file below must still have this hash.").AppendLine();
        text.AppendLine("| file | bytes | sha256 |").AppendLine("|---|---|---|");
        foreach (var file in record.Evidence)
        {
            text.AppendLine(culture, $"| {Cell(file.Path)} | {file.Bytes} | `{file.Sha256}` |");
        }

        return text.ToString();
    }

    private static string Status(AllureStatus status) => status.ToString().ToLowerInvariant();

    private static string Utc(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\r", string.Empty, StringComparison.Ordinal).Replace('\n', ' ');
}

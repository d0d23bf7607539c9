using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Reporting.Compliance;
using VoxGuard.Resilience.Reporting.Inputs;

namespace VoxGuard.Resilience.Reporting.Allure;

/// <summary>Turns one scenario test into an Allure result: labels, parameters, a step per phase, fault and verdict, and its evidence attached.</summary>
public static class AllureResultFactory
{
    /// <summary>The epic every scenario belongs to.</summary>
    public const string Epic = "NCC DR compliance";

    /// <summary>Builds the result of <paramref name="test"/>, copying its evidence into the results directory.</summary>
    /// <param name="test">The test.</param>
    /// <param name="context">The run.</param>
    /// <param name="writer">The results directory the attachments go to.</param>
    /// <param name="charts">The timeline chart (PNG path) of each scenario report that has one.</param>
    public static AllureResult Create(ScenarioTest test, ReportContext context, AllureResultsWriter writer, IReadOnlyDictionary<ScenarioReport, string> charts)
    {
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(charts);
        var judgement = TestJudgement.Of(test);
        var parameters = new List<AllureParameter> { new("environment", context.Environment), new("profile", context.Profile) };
        var arguments = test.Outcome?.Arguments ?? [];
        for (var i = 0; i < arguments.Count; i++)
        {
            parameters.Add(new($"argument {i + 1}", arguments[i]));
        }

        var missing = new List<string>();
        var attachments = new List<AllureAttachment>();
        var steps = new List<AllureStep>();
        foreach (var report in test.Reports)
        {
            if (charts.TryGetValue(report, out var chart))
            {
                attachments.Add(writer.Attach($"timeline chart: {report.Scenario}", chart, "image/png"));
            }

            attachments.Add(writer.AttachText($"events: faults, transitions seen and what the servers said ({report.Scenario})", Events(report), "text/plain", "txt"));
            foreach (var evidence in report.Attachments)
            {
                var path = Path.Combine(context.ScenariosDirectory, evidence.File);
                if (File.Exists(path))
                {
                    attachments.Add(writer.Attach(evidence.Name, path, evidence.MediaType));
                }
                else
                {
                    missing.Add(evidence.File);
                }
            }

            var scenarioSteps = ScenarioSteps(report, test.IsNegativeControl);
            if (test.Reports.Count == 1)
            {
                steps.AddRange(scenarioSteps);
            }
            else
            {
                steps.Add(new AllureStep
                {
                    Name = $"scenario {report.Scenario}",
                    Status = Worst(scenarioSteps.Select(step => step.Status)),
                    Start = Epoch(report.StartedAt),
                    Stop = Epoch(report.FinishedAt),
                    Steps = scenarioSteps,
                });
            }
        }

        return new AllureResult
        {
            Uuid = Uuid(context.RunId, test.FullName),
            HistoryId = HistoryId(test.FullName, parameters),
            TestCaseId = Hash(test.Outcome is { ClassName: { } type, MethodName: { } method } ? $"{type}.{method}" : test.FullName),
            Name = DisplayName(test),
            FullName = test.FullName,
            Description = Description(test, missing),
            Status = judgement.Status,
            StatusDetails = judgement.Message is null && judgement.Trace is null ? null : new AllureStatusDetails(judgement.Message, judgement.Trace),
            Start = Epoch(test.Start),
            Stop = Math.Max(Epoch(test.Stop), Epoch(test.Start)),
            Labels = Labels(test, context),
            Parameters = parameters,
            Steps = steps,
            Attachments = attachments,
        };
    }

    /// <summary>The same for every run of the same test with the same parameters (SHA-256 of the full name and parameters).</summary>
    public static string HistoryId(string fullName, IEnumerable<AllureParameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return Hash(fullName + "|" + string.Join("|", parameters.OrderBy(parameter => parameter.Name, StringComparer.Ordinal).Select(parameter => $"{parameter.Name}={parameter.Value}")));
    }

    /// <summary>Milliseconds since the Unix epoch, as Allure times are.</summary>
    public static long Epoch(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    private static List<AllureStep> ScenarioSteps(ScenarioReport report, bool control)
    {
        var steps = new List<AllureStep>();
        long At(TimeSpan offset) => Epoch(report.StartedAt + offset);
        AllureStep Step(ScenarioStep step) => new()
        {
            Name = step.Name,
            Status = step.Status == "broken" ? AllureStatus.Broken : AllureStatus.Passed,
            StatusDetails = step.Detail is null ? null : new AllureStatusDetails(TargetKinds.HarnessErrorHeadline + ": " + step.Detail),
            Start = At(step.Start),
            Stop = At(step.Stop),
            // The steps a phase recorded inside it (a restore's, one by one) nest under it.
            Steps = [.. report.Steps.Where(inner => inner.Within == step.Name).OrderBy(inner => inner.Start).Select(Step)],
        };

        steps.AddRange(report.Steps.Where(phase => phase.Within is null).Select(Step));

        foreach (var fault in report.Faults)
        {
            var removed = fault.End is { } end ? $", removed at +{end.TotalSeconds:F2} s" : ", never removed";
            steps.Add(new AllureStep
            {
                Name = string.Create(CultureInfo.InvariantCulture, $"fault: {fault.Name} (injected at +{fault.Start.TotalSeconds:F2} s{removed})"),
                Status = AllureStatus.Passed,
                Start = At(fault.Start),
                Stop = At(fault.End ?? fault.Start),
            });
        }

        var finished = Epoch(report.FinishedAt);
        var verdicts = report.Verdicts.Select(verdict => VerdictStep(verdict, control, finished)).ToList();
        if (verdicts.Count > 0)
        {
            steps.Add(new AllureStep
            {
                Name = control ? "verdicts (negative control: its checked target must miss)" : "verdicts: every target, measured vs required",
                Status = Worst(verdicts.Select(step => step.Status)),
                Start = finished,
                Stop = finished,
                Steps = verdicts,
            });
        }

        return steps;
    }

    private static AllureStep VerdictStep(TargetVerdict verdict, bool control, long at)
    {
        var outcome = control
            ? verdict.Passed ? "met" : "missed as designed"
            : verdict.Passed ? "met" : "MISSED";
        return new AllureStep
        {
            Name = $"{verdict.Target}: measured {verdict.Measured}, required {verdict.Required} — {outcome}",
            // A control's miss is what it is for: shown passed, its wording says what happened.
            Status = verdict.Passed || control ? AllureStatus.Passed : AllureStatus.Failed,
            StatusDetails = verdict.Passed || control ? (verdict.Detail is null ? null : new AllureStatusDetails(verdict.Detail)) : new AllureStatusDetails(TargetKinds.MissLine(verdict)),
            Start = at,
            Stop = at,
            Parameters =
            [
                new("kind", TargetKinds.Label(verdict.Kind)),
                new("measured", verdict.Measured),
                new("required", verdict.Required),
                new("verdict", outcome),
                new("NCC items", string.Join(", ", NccChecklist.ItemsEvidencedBy(verdict.Kind))),
            ],
        };
    }

    private static List<AllureLabel> Labels(ScenarioTest test, ReportContext context)
    {
        var control = test.IsNegativeControl;
        var outcome = test.Outcome;
        var labels = new List<AllureLabel>
        {
            new("epic", Epic),
            new("feature", outcome?.Feature ?? (control ? "Negative controls" : "Scenarios")),
            new("severity", outcome?.Severity ?? (control ? "normal" : "critical")),
            new("parentSuite", $"{context.Environment}/{context.Profile}"),
            new("suite", ShortName(outcome?.ClassName) ?? "scenarios"),
            new("host", context.Host),
            new("framework", outcome is null ? "VoxGuard.Resilience" : "NUnit"),
            new("language", "csharp"),
        };
        if (outcome?.ClassName is { } className)
        {
            labels.Add(new("testClass", className));
            labels.Add(new("package", className[..Math.Max(0, className.LastIndexOf('.'))]));
        }

        if (outcome?.MethodName is { } method)
        {
            labels.Add(new("testMethod", method));
        }

        labels.AddRange(test.Reports.Select(report => new AllureLabel("story", report.Scenario)));
        var tags = (outcome?.Tags ?? []).ToList();
        if (control)
        {
            tags.Add("negative-control");
        }

        tags.AddRange(test.Verdicts.SelectMany(verdict => NccChecklist.ItemsEvidencedBy(verdict.Kind)).Select(item => "NCC " + item));
        labels.AddRange(tags.Distinct(StringComparer.Ordinal).Select(tag => new AllureLabel("tag", tag)));
        return labels;
    }

    private static string DisplayName(ScenarioTest test)
    {
        // NUnit names read as sentences with underscores; Allure shows them better with spaces.
        var name = test.Outcome is null ? test.Name : test.Name.Replace('_', ' ');
        return test.IsNegativeControl && !name.StartsWith("negative", StringComparison.OrdinalIgnoreCase) ? "negative control: " + name : name;
    }

    private static string Description(ScenarioTest test, IReadOnlyList<string> missing)
    {
        var text = new StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        if (test.IsNegativeControl)
        {
            text.AppendLine("**Negative control**: a deliberately broken configuration. Its checked target is expected to miss; the test passes when it does, which shows the check can fail.").AppendLine();
        }

        if (test.Reports.Count == 0)
        {
            text.AppendLine("No scenario report: the test ended before its scenario wrote one (see the status details).");
        }

        foreach (var report in test.Reports)
        {
            text.AppendLine(culture, $"**Scenario** `{report.Scenario}` on {report.Environment}/{report.Profile}, {report.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} → {report.FinishedAt.UtcDateTime:HH:mm:ss} UTC.").AppendLine();
            text.AppendLine("| target | measured | required | verdict |").AppendLine("|---|---|---|---|");
            foreach (var verdict in report.Verdicts)
            {
                var outcome = test.IsNegativeControl ? (verdict.Passed ? "met" : "missed as designed") : verdict.Passed ? "met" : "**missed**";
                text.AppendLine(culture, $"| {Cell(verdict.Target)} | {Cell(verdict.Measured)} | {Cell(verdict.Required)} | {outcome} |");
            }

            text.AppendLine();
        }

        if (missing.Count > 0)
        {
            text.AppendLine(culture, $"Evidence listed by the scenario but missing from its folder: {string.Join(", ", missing)}.");
        }

        return text.ToString().TrimEnd();
    }

    private static string Events(ScenarioReport report)
    {
        var culture = CultureInfo.InvariantCulture;
        var events = report.Faults.Select(fault => (At: fault.Start, Text: $"fault injected: {fault.Name}"))
            .Concat(report.Faults.Where(fault => fault.End is not null).Select(fault => (At: fault.End!.Value, Text: $"fault removed: {fault.Name}")))
            .Concat(report.Transitions.Select(transition => (transition.At, Text: $"{transition.Subject} {transition.State}")))
            .Concat(report.Steps.Where(step => step.Within is null).Select(step => (At: step.Start, Text: $"phase begins: {step.Name}")))
            .Concat(report.ServerEvents.Select(said => (said.At, Text: $"{said.Server} said: {said.Event}")))
            .OrderBy(entry => entry.At);
        var text = new StringBuilder();
        text.AppendLine(culture, $"{report.Scenario}: offsets from {report.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff} UTC");
        foreach (var (at, what) in events)
        {
            text.AppendLine(culture, $"+{at.TotalSeconds,8:F3} s  {(report.StartedAt + at).UtcDateTime:HH:mm:ss.fff}  {what}");
        }

        return text.ToString();
    }

    private static AllureStatus Worst(IEnumerable<AllureStatus> statuses)
    {
        var all = statuses.ToList();
        return all.Contains(AllureStatus.Broken) ? AllureStatus.Broken : all.Contains(AllureStatus.Failed) ? AllureStatus.Failed : AllureStatus.Passed;
    }

    private static string Uuid(string runId, string fullName) =>
        new Guid(SHA256.HashData(Encoding.UTF8.GetBytes(runId + "\n" + fullName)).AsSpan(0, 16)).ToString("D");

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];

    private static string? ShortName(string? className) => className?[(className.LastIndexOf('.') + 1)..];

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ');
}

using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Reporting.Allure;
using VoxGuard.Resilience.Reporting.Inputs;

namespace VoxGuard.Resilience.Reporting.Compliance;

/// <summary>How a test is reported.</summary>
/// <param name="Status">passed, failed (a documented target missed), broken (the harness or its servers failed) or skipped.</param>
/// <param name="Message">One line per problem, each starting with the headline an Allure category matches.</param>
/// <param name="Trace">What NUnit said: its message and stack trace.</param>
public sealed record TestJudgement(AllureStatus Status, string? Message, string? Trace)
{
    /// <summary>
    /// Judges a test from its NUnit outcome and its verdicts. A missed target is <c>failed</c>, with one line per
    /// missed verdict; an exception, a setup failure or a broken phase is <c>broken</c> (a harness or infrastructure
    /// error); a negative control passes when its target misses and is <c>broken</c> when it could not miss (its check
    /// cannot fail, so nothing else the drill measured can be trusted either). Without an outcome the verdicts decide.
    /// </summary>
    public static TestJudgement Of(ScenarioTest test)
    {
        ArgumentNullException.ThrowIfNull(test);
        var missed = test.Verdicts.Where(verdict => !verdict.Passed).ToList();
        var missLines = string.Join('\n', missed.Select(TargetKinds.MissLine));
        var nunit = NUnitDetails(test.Outcome);
        var harness = TargetKinds.HarnessErrorHeadline + ": ";
        if (test.Outcome is { } outcome)
        {
            switch (outcome.Status)
            {
                case "skipped":
                    return new(AllureStatus.Skipped, outcome.Message, nunit);
                case "broken":
                    return new(AllureStatus.Broken, harness + FirstLine(outcome.Message, "the test broke without a message") + BrokenPhases(test), nunit);
                case "failed" when test.IsNegativeControl:
                    return new(AllureStatus.Broken, harness + "the negative control's target did not miss, so its check cannot fail: " + FirstLine(outcome.Message, "no message"), nunit);
                case "failed":
                    return missed.Count > 0
                        ? new(AllureStatus.Failed, missLines, nunit)
                        : new(AllureStatus.Failed, "Target missed: " + FirstLine(outcome.Message, "an assertion failed"), nunit);
                case "passed" when !test.IsNegativeControl && missed.Count > 0:
                    // Verdicts are the ground truth for targets: a test that passed with a missed verdict did not assert it.
                    return new(AllureStatus.Failed, missLines, "NUnit reported the test passed, but its scenario report holds the missed targets above.");
                case "passed":
                    return new(AllureStatus.Passed, null, null);
                default:
                    return new(AllureStatus.Broken, harness + $"unknown test status '{outcome.Status}' in the outcome file", nunit);
            }
        }

        var brokenPhase = test.Reports.SelectMany(report => report.Steps).FirstOrDefault(step => step.Status == "broken");
        if (brokenPhase is not null)
        {
            return new(AllureStatus.Broken, $"{harness}phase '{brokenPhase.Name}' broke: {brokenPhase.Detail}", null);
        }

        if (test.IsNegativeControl)
        {
            return missed.Count > 0
                ? new(AllureStatus.Passed, null, null)
                : new(AllureStatus.Broken, harness + "the negative control met every target, so its check cannot fail", null);
        }

        return missed.Count > 0 ? new(AllureStatus.Failed, missLines, null) : new(AllureStatus.Passed, null, null);
    }

    private static string BrokenPhases(ScenarioTest test)
    {
        var broken = test.Reports.SelectMany(report => report.Steps).Where(step => step.Status == "broken").Select(step => $"'{step.Name}'").ToList();
        return broken.Count == 0 ? string.Empty : $" (in phase {string.Join(", ", broken)})";
    }

    private static string FirstLine(string? text, string fallback) =>
        string.IsNullOrWhiteSpace(text) ? fallback : text.Trim().Split('\n')[0].Trim();

    private static string? NUnitDetails(TestOutcome? outcome) => outcome is null || (outcome.Message is null && outcome.StackTrace is null)
        ? null
        : string.Join("\n\n", new[] { outcome.Message, outcome.StackTrace }.Where(part => !string.IsNullOrWhiteSpace(part)));
}

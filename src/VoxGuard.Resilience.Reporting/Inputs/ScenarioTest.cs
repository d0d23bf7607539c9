using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Reporting.Compliance;

namespace VoxGuard.Resilience.Reporting.Inputs;

/// <summary>
/// One test of a run as the report shows it: the NUnit outcome (when the test ran under NUnit with
/// <c>[AllureScenario]</c>) joined with the scenario reports it wrote. A test that broke before writing its report has
/// an outcome and no report; a scenario run outside NUnit has a report and no outcome.
/// </summary>
/// <param name="FullName">The test's full name, or the scenario's name when there is no outcome.</param>
/// <param name="Name">The test's display name.</param>
/// <param name="Outcome">How the test ended, if known.</param>
/// <param name="Reports">The scenario reports it wrote, in order.</param>
public sealed record ScenarioTest(string FullName, string Name, TestOutcome? Outcome, IReadOnlyList<ScenarioReport> Reports)
{
    /// <summary>The namespace given to scenarios reported without an outcome, so their full names look like the others'.</summary>
    public const string ScenarioNamespace = "VoxGuard.Resilience.Scenarios";

    /// <summary>True for a negative control: a deliberately broken configuration whose checked target must miss.</summary>
    public bool IsNegativeControl => Outcome?.NegativeControl == true || Reports.Any(report => report.NegativeControl);

    /// <summary>Every verdict of the test's scenarios.</summary>
    public IEnumerable<TargetVerdict> Verdicts => Reports.SelectMany(report => report.Verdicts);

    /// <summary>When the test started (the outcome's time, else its first scenario's).</summary>
    public DateTimeOffset Start => Outcome?.Start ?? Reports.Min(report => report.StartedAt);

    /// <summary>When the test ended.</summary>
    public DateTimeOffset Stop => Outcome?.Stop ?? Reports.Max(report => report.FinishedAt);

    /// <summary>
    /// Joins a run's outcomes with its reports: each outcome claims the scenarios it names; a report no outcome claims
    /// becomes a test of its own. Ordered by start time.
    /// </summary>
    public static IReadOnlyList<ScenarioTest> Join(RunInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var byName = inputs.Reports.GroupBy(report => report.Scenario, StringComparer.Ordinal).ToDictionary(group => group.Key, group => group.ToList(), StringComparer.Ordinal);
        var claimed = new HashSet<ScenarioReport>(ReferenceEqualityComparer.Instance);
        var tests = new List<ScenarioTest>();
        foreach (var outcome in inputs.Outcomes)
        {
            var reports = new List<ScenarioReport>();
            foreach (var scenario in outcome.Scenarios ?? [])
            {
                // The same scenario name may run in several tests of a run: take the copy finished within this test.
                var report = byName.GetValueOrDefault(scenario)?.Where(candidate => !claimed.Contains(candidate))
                    .OrderBy(candidate => Math.Abs((candidate.FinishedAt - outcome.Stop).Ticks)).FirstOrDefault();
                if (report is not null && claimed.Add(report))
                {
                    reports.Add(report);
                }
            }

            tests.Add(new ScenarioTest(outcome.FullName, outcome.Name, outcome, reports));
        }

        foreach (var report in inputs.Reports.Where(report => !claimed.Contains(report)))
        {
            tests.Add(new ScenarioTest($"{ScenarioNamespace}.{report.Scenario}", report.Scenario, null, [report]));
        }

        return [.. tests.OrderBy(test => test.Start).ThenBy(test => test.FullName, StringComparer.Ordinal)];
    }
}

using VoxGuard.Resilience.Drills;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>
/// Turns a scenario's verdicts into test results: every verdict is printed, every missed one fails the test, and a
/// scenario that judged nothing fails too (a run that measured nothing proves nothing).
/// </summary>
internal static class Verdicts
{
    public static void AssertAllPassed(ScenarioRun run)
    {
        foreach (var verdict in run.Verdicts)
        {
            TestContext.Out.WriteLine($"{(verdict.Passed ? "PASS" : "MISS")}  [{verdict.Kind}] {verdict.Target}: {verdict.Measured} (required {verdict.Required}){(verdict.Detail is null ? string.Empty : " — " + verdict.Detail)}");
        }

        Assert.That(run.Verdicts, Is.Not.Empty, $"scenario {run.Name} recorded no verdict: nothing was judged");
        Assert.Multiple(() =>
        {
            foreach (var verdict in run.Verdicts)
            {
                Assert.That(verdict.Passed, Is.True, $"{verdict.Target}: measured {verdict.Measured}, required {verdict.Required}{(verdict.Detail is null ? string.Empty : " — " + verdict.Detail)}");
            }
        });
    }
}

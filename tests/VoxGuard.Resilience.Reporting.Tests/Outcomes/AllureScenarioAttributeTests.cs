using System.Text.Json;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Reporting.Inputs;
using VoxGuard.Resilience.Reporting.Tests.Support;
using VoxGuard.Resilience.Scenarios;

namespace VoxGuard.Resilience.Reporting.Tests.Outcomes;

public sealed class AllureScenarioAttributeTests
{
    private static IEnumerable<TestCaseData> States()
    {
        yield return new TestCaseData(ResultState.Success, "passed");
        yield return new TestCaseData(ResultState.Failure, "failed").SetName("An assertion failure is failed");
        yield return new TestCaseData(ResultState.Error, "broken").SetName("An exception is broken");
        yield return new TestCaseData(ResultState.SetUpFailure, "broken").SetName("A setup assertion is broken");
        yield return new TestCaseData(ResultState.SetUpError, "broken").SetName("A setup exception is broken");
        yield return new TestCaseData(ResultState.TearDownError, "broken").SetName("A teardown exception is broken");
        yield return new TestCaseData(ResultState.Cancelled, "broken").SetName("A cancelled test is broken");
        yield return new TestCaseData(ResultState.NotRunnable, "broken").SetName("A test NUnit cannot run is broken");
        yield return new TestCaseData(ResultState.Ignored, "skipped");
        yield return new TestCaseData(ResultState.Inconclusive, "skipped");
    }

    [TestCaseSource(nameof(States))]
    public void NUnit_result_states_map_to_allure_statuses(ResultState state, string status) =>
        Assert.That(AllureScenarioAttribute.StatusOf(state), Is.EqualTo(status));

    [Test]
    public void The_outcome_file_names_the_scenarios_this_process_finished_during_the_test_and_reads_back_as_a_test_outcome()
    {
        using var temp = new TempDirectory();
        var start = DateTimeOffset.UtcNow;
        WriteScenario(temp.Path, "earlier", start.AddMinutes(-1));
        WriteScenario(temp.Path, "lagos-region-loss", start.AddSeconds(20));
        // Another scenario lane writes into the same directory meanwhile: its report is not this test's.
        WriteScenario(temp.Path, "negative-control-patroni-paused", start.AddSeconds(25));
        ScenarioSettings.ReportsWritten = [("earlier", start.AddMinutes(-1)), ("lagos-region-loss", start.AddSeconds(20))];
        File.WriteAllText(Path.Combine(temp.Path, "lagos-region-loss-topology-status.json"), "{\"balancer\":{}}");
        var attribute = new AllureScenarioAttribute("Region loss", AllureSeverity.Blocker, "failover", "rpo");
        var test = TestExecutionContext.CurrentContext.CurrentTest;

        var path = attribute.WriteOutcome(temp.Path, test, ResultState.Failure, "failover: measured 42 s", "   at Somewhere()", start, start.AddSeconds(30));

        Assert.That(Path.GetDirectoryName(path), Is.EqualTo(Path.Combine(temp.Path, "outcomes")));
        var outcome = JsonSerializer.Deserialize<TestOutcome>(File.ReadAllText(path), new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        Assert.That(outcome.FullName, Is.EqualTo(test.FullName));
        Assert.That(outcome.Status, Is.EqualTo("failed"));
        Assert.That(outcome.Message, Is.EqualTo("failover: measured 42 s"));
        Assert.That(outcome.Scenarios, Is.EqualTo(new[] { "lagos-region-loss" }));
        Assert.That((outcome.Feature, outcome.Severity, outcome.Tags), Is.EqualTo(("Region loss", "blocker", (IReadOnlyList<string>)["failover", "rpo"])));
        Assert.That(outcome.Start, Is.EqualTo(start));
        Assert.That(outcome.ClassName, Is.EqualTo(typeof(AllureScenarioAttributeTests).FullName));
    }

    [Test]
    public void Long_or_odd_test_names_give_safe_distinct_file_names()
    {
        var a = AllureScenarioAttribute.SafeFileName("A.B.Losing_a_replica_region(\"abuja\")" + new string('x', 200));
        var b = AllureScenarioAttribute.SafeFileName("A.B.Losing_a_replica_region(\"asaba\")" + new string('x', 200));

        Assert.That(a, Does.Match("^[A-Za-z0-9._-]+$"));
        Assert.That(a, Has.Length.LessThanOrEqualTo(140));
        Assert.That(a, Is.Not.EqualTo(b));
        Assert.That(AllureScenarioAttribute.SafeFileName("N.C.M(\"abuja\")"), Is.EqualTo("N.C.M__abuja__"));
    }

    private static void WriteScenario(string directory, string name, DateTimeOffset finishedAt)
    {
        var report = new ScenarioReport(name, "local", "ci", finishedAt.AddSeconds(-20), finishedAt, [], [], [], [], [], []);
        File.WriteAllText(Path.Combine(directory, name + ".json"), JsonSerializer.Serialize(report, ScenarioReport.Json));
    }
}

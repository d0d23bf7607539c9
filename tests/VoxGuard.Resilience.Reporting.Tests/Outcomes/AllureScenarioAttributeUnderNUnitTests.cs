using System.Text.Json;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Reporting.Inputs;
using VoxGuard.Resilience.Reporting.Tests.Support;
using VoxGuard.Resilience.Scenarios;

namespace VoxGuard.Resilience.Reporting.Tests.Outcomes;

/// <summary>The attribute driven by NUnit itself, as on a scenario class: the first test runs under it, the second reads what it wrote.</summary>
[TestFixture]
[NonParallelizable]
public sealed class AllureScenarioAttributeUnderNUnitTests
{
    private TempDirectory? _reports;
    private string _previous = string.Empty;

    [OneTimeSetUp]
    public void PointTheScenariosAtATemporaryFolder()
    {
        _reports = new TempDirectory();
        _previous = ScenarioSettings.ReportDirectory;
        ScenarioSettings.ReportDirectory = _reports.Path;
    }

    [OneTimeTearDown]
    public void Restore()
    {
        ScenarioSettings.ReportDirectory = _previous;
        _reports?.Dispose();
    }

    [Test]
    [Order(1)]
    [AllureScenario("Steady state", AllureSeverity.Critical, "distribution")]
    public void A_scenario_test_that_writes_its_report()
    {
        var now = DateTimeOffset.UtcNow;
        var report = new ScenarioReport("steady-state", "local", "ci", now.AddSeconds(-1), now, [], [], [], [], [], []);
        File.WriteAllText(Path.Combine(ScenarioSettings.ReportDirectory, "steady-state.json"), JsonSerializer.Serialize(report, ScenarioReport.Json));
        ScenarioSettings.ReportsWritten = [("steady-state", now)];
    }

    [Test]
    [Order(2)]
    public void NUnit_ran_the_attribute_around_it_and_its_outcome_names_the_scenario()
    {
        var path = Path.Combine(_reports!.Path, "outcomes", AllureScenarioAttribute.SafeFileName(
            typeof(AllureScenarioAttributeUnderNUnitTests).FullName + "." + nameof(A_scenario_test_that_writes_its_report)) + ".json");
        Assert.That(File.Exists(path), Is.True, $"no outcome file {path}");

        var outcome = JsonSerializer.Deserialize<TestOutcome>(File.ReadAllText(path), new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        Assert.That((outcome.Status, outcome.Feature, outcome.Severity), Is.EqualTo(("passed", "Steady state", "critical")));
        Assert.That(outcome.Scenarios, Is.EqualTo(new[] { "steady-state" }));
        Assert.That(outcome.Stop, Is.GreaterThanOrEqualTo(outcome.Start));
    }
}

namespace VoxGuard.Resilience.Cli.Tests;

/// <summary><c>report</c> as a user runs it: on a run directory, on nothing, and verifying a run's evidence.</summary>
[TestFixture]
public sealed class ReportCommandTests
{
    private const string ScenarioReport = """
        {
          "scenario": "steady-state", "environment": "local", "profile": "ci",
          "startedAt": "2026-02-03T10:15:00+00:00", "finishedAt": "2026-02-03T10:15:10+00:00",
          "verdicts": [ { "scenario": "steady-state", "target": "call success", "measured": "100.00 %", "required": "≥ 99.90 %", "passed": true, "detail": "400 calls" } ],
          "faults": [], "transitions": [], "lag": [], "steps": [],
          "attachments": [ { "name": "call timeline (CSV)", "file": "steady-state-calls.csv", "mediaType": "text/csv" } ]
        }
        """;

    [Test]
    public async Task Report_builds_a_runs_html_junit_and_record_and_verify_then_catches_a_changed_file()
    {
        var root = Directory.CreateTempSubdirectory("voxguard-cli-report-");
        try
        {
            var run = Path.Combine(root.FullName, "reports", "20260203T101500Z-gate-local-ci");
            var scenarios = Directory.CreateDirectory(Path.Combine(run, "scenarios")).FullName;
            await File.WriteAllTextAsync(Path.Combine(scenarios, "steady-state.json"), ScenarioReport);
            await File.WriteAllTextAsync(Path.Combine(scenarios, "steady-state-calls.csv"), "start_s,end_s,succeeded,region\n0.1000,0.6000,True,lagos\n");

            var (exitCode, output, error) = await CliProcess.RunAsync("report", "--run", run);
            Assert.That(exitCode, Is.Zero, output + error);
            Assert.That(output, Does.Contain("every target met (1)").And.Contain(Path.Combine(run, "allure-report", "index.html")).And.Contain("drill-record.md"));
            Assert.That(File.Exists(Path.Combine(run, "junit.xml")), Is.True);

            var (intact, verified, _) = await CliProcess.RunAsync("report", "--run", run, "--verify");
            Assert.That(intact, Is.Zero, verified);
            await File.AppendAllTextAsync(Path.Combine(scenarios, "steady-state-calls.csv"), "0.2000,0.7000,True,abuja\n");
            var (tampered, report, _) = await CliProcess.RunAsync("report", "--run", run, "--verify");
            Assert.That(tampered, Is.EqualTo(1));
            Assert.That(report, Does.Contain("modified: scenarios/steady-state-calls.csv"));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Test]
    public async Task Report_on_a_missing_run_or_an_empty_one_says_what_to_do()
    {
        var root = Directory.CreateTempSubdirectory("voxguard-cli-report-");
        try
        {
            var (missing, _, missingError) = await CliProcess.RunAsync("report", "--run", Path.Combine(root.FullName, "nope"));
            Assert.That(missing, Is.EqualTo(2));
            Assert.That(missingError, Does.Contain("No run directory"));

            Directory.CreateDirectory(Path.Combine(root.FullName, "scenarios"));
            var (empty, _, emptyError) = await CliProcess.RunAsync("report", "--run", root.FullName);
            Assert.That(empty, Is.EqualTo(2));
            Assert.That(emptyError, Does.Contain("holds no scenario report").And.Contain("./resilience drill"));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}

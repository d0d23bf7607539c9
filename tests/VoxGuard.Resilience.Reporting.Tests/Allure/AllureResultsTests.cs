using System.Text.Json;
using VoxGuard.Resilience.Reporting.Allure;
using VoxGuard.Resilience.Reporting.Tests.Support;

namespace VoxGuard.Resilience.Reporting.Tests.Allure;

public sealed class AllureResultsTests
{
    [Test]
    public async Task Every_result_file_uses_allures_field_names_and_lower_case_statuses()
    {
        using var run = FakeRun.Default();
        var summary = await ReportBuilder.BuildAsync(run.RunDirectory);

        var files = Directory.GetFiles(summary.ResultsDirectory, "*-result.json");
        Assert.That(files, Has.Length.EqualTo(4));
        foreach (var file in files)
        {
            using var json = JsonDocument.Parse(File.ReadAllText(file));
            var result = json.RootElement;
            foreach (var field in new[] { "uuid", "historyId", "testCaseId", "name", "fullName", "status", "stage", "start", "stop", "labels", "parameters", "steps", "attachments" })
            {
                Assert.That(result.TryGetProperty(field, out _), Is.True, $"{Path.GetFileName(file)} lacks '{field}'");
            }

            Assert.That(Path.GetFileName(file), Is.EqualTo(result.GetProperty("uuid").GetString() + "-result.json"));
            Assert.That(result.GetProperty("status").GetString(), Is.AnyOf("passed", "failed", "broken", "skipped"));
            Assert.That(result.GetProperty("stop").GetInt64(), Is.GreaterThanOrEqualTo(result.GetProperty("start").GetInt64()));
            foreach (var label in result.GetProperty("labels").EnumerateArray())
            {
                Assert.That(label.EnumerateObject().Select(property => property.Name), Is.EquivalentTo(new[] { "name", "value" }));
            }

            foreach (var attachment in result.GetProperty("attachments").EnumerateArray())
            {
                Assert.That(attachment.EnumerateObject().Select(property => property.Name), Is.EquivalentTo(new[] { "name", "source", "type" }));
                Assert.That(File.Exists(Path.Combine(summary.ResultsDirectory, attachment.GetProperty("source").GetString()!)), Is.True, "attachment file written");
                Assert.That(attachment.GetProperty("source").GetString(), Does.Match("^[0-9a-f-]{36}-attachment\\.[a-z]+$"));
            }
        }
    }

    [Test]
    public async Task A_missed_target_is_failed_a_harness_error_broken_and_a_negative_controls_miss_passed()
    {
        using var run = FakeRun.Default();
        var summary = await ReportBuilder.BuildAsync(run.RunDirectory);
        AllureResult Named(string part) => summary.Results.Single(result => result.FullName.Contains(part, StringComparison.Ordinal));

        var lagos = Named("Losing_lagos");
        Assert.That(lagos.Status, Is.EqualTo(AllureStatus.Failed));
        Assert.That(lagos.StatusDetails!.Message, Does.StartWith("Failover target missed: failover (service back and staying back): measured 42.00 s, required < 30.00 s (312 of 950"));
        Assert.That(lagos.StatusDetails.Trace, Does.Contain("Verdicts.AssertAllPassed"), "NUnit's stack trace kept as the trace");

        var abuja = Named("(\"abuja\")");
        Assert.That(abuja.Status, Is.EqualTo(AllureStatus.Broken));
        Assert.That(abuja.StatusDetails!.Message, Does.StartWith("Harness/infrastructure error: System.TimeoutException : redis-server (abuja) did not accept connections"));
        Assert.That(abuja.Steps, Is.Empty, "broken before writing a scenario report");

        var control = Named("Negative_control");
        Assert.That(control.Status, Is.EqualTo(AllureStatus.Passed));
        Assert.That(control.Labels, Has.Some.EqualTo(new AllureLabel("tag", "negative-control")));
        var verdicts = control.Steps.Single(step => step.Name.StartsWith("verdicts", StringComparison.Ordinal));
        Assert.That(verdicts.Steps.Single(step => step.Name.StartsWith("failover", StringComparison.Ordinal)).Name, Does.EndWith("missed as designed"));

        Assert.That(Named("Steady_state").Status, Is.EqualTo(AllureStatus.Passed));
    }

    [Test]
    public async Task Results_carry_phases_faults_and_verdicts_as_timed_steps_and_the_evidence_as_attachments()
    {
        using var run = FakeRun.Default();
        var summary = await ReportBuilder.BuildAsync(run.RunDirectory);
        var lagos = summary.Results.Single(result => result.FullName.Contains("Losing_lagos", StringComparison.Ordinal));

        Assert.That(lagos.Steps.Select(step => step.Name), Is.EqualTo(new[]
        {
            "steady state: load at 50 calls/s", "inject: kill lagos", "observe: failover under load", "verify: read back every write",
            "fault: kill lagos (injected at +5.00 s, never removed)", "verdicts: every target, measured vs required",
        }));
        var inject = lagos.Steps[1];
        Assert.That(inject.Start, Is.EqualTo(FakeRun.Start.AddSeconds(5).ToUnixTimeMilliseconds()));
        Assert.That(inject.Stop - inject.Start, Is.EqualTo(80));
        var verdicts = lagos.Steps[^1];
        Assert.That(verdicts.Status, Is.EqualTo(AllureStatus.Failed));
        Assert.That(verdicts.Steps.Select(step => step.Status), Is.EqualTo(new[] { AllureStatus.Failed, AllureStatus.Passed, AllureStatus.Passed }));
        Assert.That(verdicts.Steps[0].Parameters, Does.Contain(new AllureParameter("required", "< 30.00 s")));
        Assert.That(lagos.Attachments.Select(attachment => attachment.Type), Is.EqualTo(new[] { "image/png", "text/plain", "text/csv", "text/csv", "text/plain", "application/json", "text/plain" }));
        // One timeline of what was done, what the pollers saw and what the servers said, on the scenario's clock.
        var events = await File.ReadAllLinesAsync(Path.Combine(summary.ResultsDirectory, lagos.Attachments.Single(attachment => attachment.Name.StartsWith("events:", StringComparison.Ordinal)).Source));
        Assert.That(events.Where(line => line.StartsWith('+')).Select(line => line[27..]), Is.EqualTo(new[]
        {
            "phase begins: steady state: load at 50 calls/s", "balancer/lagos UP", "balancer/abuja UP", "balancer/asaba UP", "fault injected: kill lagos",
            "phase begins: inject: kill lagos", "phase begins: observe: failover under load", "balancer/lagos DOWN", "sip-balancer said: balancer marked lagos DOWN",
            "abuja-patroni said: Patroni promoted its node (took the leader lock)", "phase begins: verify: read back every write",
        }));
        Assert.That(lagos.Labels, Does.Contain(new AllureLabel("epic", "NCC DR compliance")).And.Contain(new AllureLabel("severity", "blocker"))
            .And.Contain(new AllureLabel("feature", "Region loss")).And.Contain(new AllureLabel("framework", "NUnit")));
        Assert.That(lagos.Parameters, Is.EqualTo(new[] { new AllureParameter("environment", "local"), new AllureParameter("profile", "ci") }));
    }

    [Test]
    public async Task The_history_id_is_the_same_in_every_run_of_a_test_and_differs_with_its_parameters()
    {
        using var first = FakeRun.Default();
        using var second = FakeRun.Default();
        var a = await ReportBuilder.BuildAsync(first.RunDirectory);
        var b = await ReportBuilder.BuildAsync(second.RunDirectory);

        Assert.That(b.Results.Select(result => result.HistoryId), Is.EqualTo(a.Results.Select(result => result.HistoryId)));
        Assert.That(a.Results.Select(result => result.HistoryId), Is.Unique);
        var lagos = a.Results.Single(result => result.FullName.Contains("Losing_lagos", StringComparison.Ordinal));
        Assert.That(AllureResultFactory.HistoryId(lagos.FullName, [new("environment", "local"), new("profile", "documented")]), Is.Not.EqualTo(lagos.HistoryId));
        Assert.That(AllureResultFactory.HistoryId(lagos.FullName, lagos.Parameters.Reverse()), Is.EqualTo(lagos.HistoryId), "parameter order does not matter");
    }

    [Test]
    public async Task A_scenario_report_without_an_outcome_is_judged_by_its_verdicts()
    {
        using var run = new FakeRun();
        run.AddScenario("failback", FakeRun.Start, lost: "lagos", failoverSeconds: 3, recoversAt: 8);
        run.AddScenario("flapping", FakeRun.Start.AddMinutes(1), lost: "abuja", failoverSeconds: 31, recoversAt: 8);

        var summary = await ReportBuilder.BuildAsync(run.RunDirectory);

        Assert.That(summary.Results.Select(result => (result.FullName, result.Status)), Is.EqualTo(new[]
        {
            ("VoxGuard.Resilience.Scenarios.failback", AllureStatus.Passed),
            ("VoxGuard.Resilience.Scenarios.flapping", AllureStatus.Failed),
        }));
        Assert.That(summary.Results[1].StatusDetails!.Message, Does.StartWith("Failover target missed:"));
        Assert.That(summary.Results[0].Labels, Does.Contain(new AllureLabel("framework", "VoxGuard.Resilience")));
    }

    [Test]
    public async Task Environment_executor_and_categories_files_are_written()
    {
        using var run = FakeRun.Default();
        var summary = await ReportBuilder.BuildAsync(run.RunDirectory, new ReportOptions { HarnessCommit = "0123abc", Host = "drill-host", User = "oncall" });

        var environment = File.ReadAllLines(Path.Combine(summary.ResultsDirectory, "environment.properties"));
        Assert.That(environment, Does.Contain("environment=local").And.Contain("profile=ci").And.Contain("harness.commit=0123abc").And.Contain("host=drill-host"));
        using var executor = JsonDocument.Parse(File.ReadAllText(Path.Combine(summary.ResultsDirectory, "executor.json")));
        Assert.That(executor.RootElement.GetProperty("buildName").GetString(), Is.EqualTo(FakeRun.RunId));
        using var categories = JsonDocument.Parse(File.ReadAllText(Path.Combine(summary.ResultsDirectory, "categories.json")));
        Assert.That(categories.RootElement.EnumerateArray().Select(category => category.GetProperty("name").GetString()),
            Is.SupersetOf(new[] { "Failover target missed", "RPO exceeded", "Split-brain data loss", "Distribution deviation", "Harness/infrastructure error" }));
    }

    [Test]
    public void No_run_directory_no_scenarios_folder_and_an_empty_one_each_say_what_to_do()
    {
        using var temp = new TempDirectory();
        Assert.That(() => ReportBuilder.BuildAsync(Path.Combine(temp.Path, "nope")),
            Throws.TypeOf<ReportException>().With.Message.Contains("No run directory").And.Message.Contains("--run"));
        Assert.That(() => ReportBuilder.BuildAsync(temp.Path),
            Throws.TypeOf<ReportException>().With.Message.Contains("has no scenarios/ folder").And.Message.Contains("./resilience drill"));
        Directory.CreateDirectory(Path.Combine(temp.Path, "scenarios"));
        Assert.That(() => ReportBuilder.BuildAsync(temp.Path),
            Throws.TypeOf<ReportException>().With.Message.Contains("holds no scenario report"));
        Assert.That(() => ReportBuilder.LatestRun(Path.Combine(temp.Path, "empty")), Throws.TypeOf<ReportException>().With.Message.Contains("No run under"));
    }

    [Test]
    public void The_latest_run_is_the_one_whose_scenarios_changed_last()
    {
        using var temp = new TempDirectory();
        foreach (var (name, age) in new[] { ("20260101T000000Z-gate-local-ci", 3), ("last-test-run", 1), ("20260102T000000Z-gate-local-ci", 2) })
        {
            var scenarios = Directory.CreateDirectory(Path.Combine(temp.Path, name, "scenarios"));
            Directory.SetLastWriteTimeUtc(scenarios.FullName, DateTime.UtcNow.AddHours(-age));
        }

        Directory.CreateDirectory(Path.Combine(temp.Path, "not-a-run"));

        Assert.That(Path.GetFileName(ReportBuilder.LatestRun(temp.Path)), Is.EqualTo("last-test-run"));
    }
}

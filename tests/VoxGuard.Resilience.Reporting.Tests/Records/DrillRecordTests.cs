using System.Security.Cryptography;
using System.Text.Json;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Reporting.Records;
using VoxGuard.Resilience.Reporting.Tests.Support;

namespace VoxGuard.Resilience.Reporting.Tests.Records;

public sealed class DrillRecordTests
{
    [Test]
    public async Task The_record_says_who_when_where_with_which_commit_and_every_target_with_its_verdict()
    {
        using var run = FakeRun.Default();
        var clock = new FixedTimeProvider(new DateTimeOffset(2026, 2, 3, 11, 0, 0, TimeSpan.Zero));
        var summary = await ReportBuilder.BuildAsync(run.RunDirectory, new ReportOptions { HarnessCommit = "d363ee7", User = "oncall", Host = "drill-host", TimeProvider = clock });

        var record = JsonSerializer.Deserialize<DrillRecord>(File.ReadAllText(summary.RecordJsonPath), DrillRecord.Json)!;
        Assert.That((record.User, record.Host, record.HarnessCommit, record.Environment, record.Profile), Is.EqualTo(("oncall", "drill-host", "d363ee7", "local", "ci")));
        Assert.That(record.RecordedAt, Is.EqualTo(clock.GetUtcNow()));
        Assert.That(record.StartedAt, Is.EqualTo(FakeRun.Start.AddSeconds(-3)));
        Assert.That(record.Conclusion, Does.StartWith("NOT TRUSTWORTHY: 1 test(s) broken").And.Contain("1 target(s) missed"));

        var failover = record.Targets.Single(target => target is { Scenario: "lagos-region-loss", Target: "failover (service back and staying back)" });
        Assert.That((failover.Measured, failover.Required, failover.Verdict), Is.EqualTo(("42.00 s", "< 30.00 s", "missed")));
        Assert.That((failover.Kind, failover.NegativeControl), Is.EqualTo((TargetKind.Failover, false)));
        Assert.That(failover.NccItems, Is.EquivalentTo(new[] { "high-availability" }), "failover is high availability; disaster recovery is recovery from backups");
        var control = record.Targets.Single(target => target is { Scenario: "negative-control-no-failover", Target: "failover (service back and staying back)" });
        Assert.That((control.Verdict, control.NegativeControl), Is.EqualTo(("missed as designed", true)));

        var ha = record.Ncc.Single(item => item.Id == "high-availability");
        Assert.That((ha.Evidence, ha.Targets, ha.TargetsMet), Is.EqualTo(("contradicted", 5, 4)), "the failover missed; the control's targets are no evidence");
        Assert.That(record.Ncc.Single(item => item.Id == "disaster-recovery").Evidence, Is.EqualTo("not evidenced by this run (no scenario measured it)"));
        Assert.That(record.Ncc.Single(item => item.Id == "encryption-tls13").Evidence, Is.EqualTo("not evidenced by a drill"));

        var markdown = File.ReadAllText(summary.RecordMarkdownPath);
        Assert.That(markdown, Does.Contain("| lagos-region-loss | failover (service back and staying back) | failover | 42.00 s | < 30.00 s | **MISSED** | high-availability |"));
        Assert.That(markdown, Does.Contain("missed as designed"));
        Assert.That(markdown, Does.Contain("oncall on drill-host"));
        Assert.That(markdown, Does.Contain("| High availability: 99.99% uptime SLA met | contradicted: 1 of 5 related target(s) missed |"));
    }

    [Test]
    public async Task Each_scenario_with_a_fault_keeps_its_faults_and_what_the_servers_said_from_then_on_with_the_file_of_every_line()
    {
        using var run = FakeRun.Default();
        var summary = await ReportBuilder.BuildAsync(run.RunDirectory, new ReportOptions { HarnessCommit = "d363ee7", User = "oncall", Host = "drill-host" });

        var record = JsonSerializer.Deserialize<DrillRecord>(File.ReadAllText(summary.RecordJsonPath), DrillRecord.Json)!;
        var lagos = record.Scenarios.Single(scenario => scenario.Scenario == "lagos-region-loss");
        var steady = record.Scenarios.Single(scenario => scenario.Scenario == "steady-state");
        var markdown = File.ReadAllText(summary.RecordMarkdownPath);
        Assert.Multiple(() =>
        {
            Assert.That(lagos.Faults, Is.EqualTo(new[] { new DrillFaultEntry("kill lagos", 5, null) }));
            Assert.That(lagos.ServerEvents, Is.EqualTo(new[]
            {
                new DrillServerEventEntry(6.5, "sip-balancer", "balancer marked lagos DOWN"),
                new DrillServerEventEntry(17.04, "abuja-patroni", "Patroni promoted its node (took the leader lock)"),
            }));
            Assert.That(lagos.ServerLogs, Is.EqualTo("scenarios/lagos-region-loss-server-logs.txt"));
            Assert.That(record.Evidence.Select(file => file.Path), Has.Member(lagos.ServerLogs), "the file of every line is hashed with the evidence");
            Assert.That((steady.Faults, steady.ServerEvents), Is.EqualTo((Array.Empty<DrillFaultEntry>(), Array.Empty<DrillServerEventEntry>())));

            Assert.That(markdown, Does.Contain("## The faults in the servers' own words"));
            Assert.That(markdown, Does.Contain("### lagos-region-loss\n\nFaults: kill lagos at 5.0 s. Every line the servers wrote: `scenarios/lagos-region-loss-server-logs.txt`."));
            Assert.That(markdown, Does.Contain("| 17.040 | abuja-patroni | Patroni promoted its node (took the leader lock) |"));
            Assert.That(markdown, Does.Contain("### negative-control-no-failover (negative control)"));
            Assert.That(markdown, Does.Not.Contain("### steady-state"), "a scenario without a fault has no account");
        });
    }

    [Test]
    public void The_record_shows_at_most_forty_events_of_a_scenario_and_counts_the_rest_which_its_json_keeps()
    {
        var markdown = DrillRecordWriter.Markdown(RecordOf([],
        [
            new("link-flapping", false, [])
            {
                Faults = [new("cut lagos-abuja", 5, 6), new("cut lagos-abuja", 8, 9)],
                ServerEvents = [.. Enumerable.Range(0, 45).Select(i => new DrillServerEventEntry(5 + (i / 10.0), "abuja-redis", i % 2 == 0 ? "Redis lost its master" : "Redis synced from its master"))],
            },
            new("asaba-isolation", false, []) { Faults = [new("isolate asaba", 5, 20)] },
        ]));

        Assert.Multiple(() =>
        {
            Assert.That(markdown, Does.Contain("Faults: cut lagos-abuja at 5.0 s (removed at 6.0 s); cut lagos-abuja at 8.0 s (removed at 9.0 s)."));
            Assert.That(markdown.Split('\n').Count(line => line.Contains("| abuja-redis |", StringComparison.Ordinal)), Is.EqualTo(40));
            Assert.That(markdown, Does.Contain("| | | … and 5 more in drill-record.json |"));
            Assert.That(markdown, Does.Contain("### asaba-isolation\n\nFaults: isolate asaba at 5.0 s (removed at 20.0 s).\n\nThe servers said nothing about a role, a lock or a region from then on."));
        });
    }

    [Test]
    public void A_recovery_from_backups_has_a_section_of_its_own_with_its_dr_verdicts_and_every_step_timed()
    {
        const string recover = "recover: a topology rebuilt from repo1";
        var markdown = DrillRecordWriter.Markdown(RecordOf(
        [
            new("all-regions-down", "DR RTO (service back and staying back)", TargetKind.DisasterRecoveryTime, false, "9.40 s", "< 900.00 s", "met", null, ["disaster-recovery"]),
            new("all-regions-down", "backup retention as configured", TargetKind.Retention, false, "online repo1 30 d", "online ≥ 30 d", "met", null, ["retention-7y"]),
            new("lagos-region-loss", "failover (service back and staying back)", TargetKind.Failover, false, "8.10 s", "< 30.00 s", "met", null, ["high-availability"]),
        ],
        [
            new("all-regions-down", false, [new(recover, null, 14.6, 9.41, "passed"), new("restore from repo1: PostgreSQL backup and archived WAL", recover, 15.0, 0.29, "passed")]),
            new("lagos-region-loss", false, [new("inject: kill lagos", null, 5, 0.08, "passed")]),
        ]));

        Assert.Multiple(() =>
        {
            Assert.That(markdown, Does.Contain("## Disaster recovery: all regions down"));
            Assert.That(markdown, Does.Contain("| DR RTO: DR RTO (service back and staying back) | 9.40 s | < 900.00 s | met |"));
            Assert.That(markdown, Does.Contain("| retention: backup retention as configured | online repo1 30 d | online ≥ 30 d | met |"));
            Assert.That(markdown, Does.Contain("| 14.6 | 9.41 | recover: a topology rebuilt from repo1 |"));
            Assert.That(markdown, Does.Contain("| 15.0 | 0.29 | &nbsp;&nbsp;↳ restore from repo1: PostgreSQL backup and archived WAL |"));
            Assert.That(markdown, Does.Not.Contain("### lagos-region-loss"), "a failover is not a recovery from backups");
        });
    }

    [Test]
    public async Task Every_evidence_file_is_hashed_and_the_verification_passes_untouched()
    {
        using var run = FakeRun.Default();
        var summary = await ReportBuilder.BuildAsync(run.RunDirectory);

        var paths = summary.Record.Evidence.Select(entry => entry.Path).ToList();
        Assert.That(paths, Does.Contain("scenarios/lagos-region-loss-calls.csv").And.Contain("scenarios/lagos-region-loss.json")
            .And.Contain("charts/lagos-region-loss-timeline.png").And.Contain("junit.xml").And.Some.StartsWith("scenarios/outcomes/"));
        var calls = summary.Record.Evidence.Single(entry => entry.Path == "scenarios/lagos-region-loss-calls.csv");
        Assert.That(calls.Sha256, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(run.RunDirectory, calls.Path))))));

        var verification = DrillRecordVerifier.Verify(run.RunDirectory);
        Assert.That(verification.Problems, Is.Empty);
        Assert.That(verification.Intact, Is.True);
        Assert.That(verification.Checked, Is.EqualTo(summary.Record.Evidence.Count));
    }

    [Test]
    public async Task Verification_names_a_modified_a_missing_and_an_added_evidence_file()
    {
        using var run = FakeRun.Default();
        await ReportBuilder.BuildAsync(run.RunDirectory);
        File.AppendAllText(Path.Combine(run.ScenariosDirectory, "lagos-region-loss-calls.csv"), "30.0000,30.5000,True,lagos\n");
        File.Delete(Path.Combine(run.ScenariosDirectory, "steady-state-lag.csv"));
        File.WriteAllText(Path.Combine(run.ScenariosDirectory, "late.txt"), "added later");

        var verification = DrillRecordVerifier.Verify(run.RunDirectory);

        Assert.That(verification.Intact, Is.False);
        Assert.That(verification.Problems, Has.Count.EqualTo(3));
        Assert.That(verification.Problems, Has.One.StartsWith("modified: scenarios/lagos-region-loss-calls.csv (recorded sha256 "));
        Assert.That(verification.Problems, Has.One.EqualTo("missing: scenarios/steady-state-lag.csv"));
        Assert.That(verification.Problems, Has.One.StartsWith("not in the record: scenarios/late.txt"));
    }

    [Test]
    public void Verifying_a_run_without_a_record_says_how_to_make_one()
    {
        using var run = FakeRun.Default();

        Assert.That(() => DrillRecordVerifier.Verify(run.RunDirectory),
            Throws.TypeOf<ReportException>().With.Message.Contains("has no drill record").And.Message.Contains("./resilience report --run"));
    }

    /// <summary>A record of these targets and scenarios, its other fields fixed (what the Markdown tests do not look at).</summary>
    private static DrillRecord RecordOf(IReadOnlyList<DrillTargetEntry> targets, IReadOnlyList<DrillScenarioEntry> scenarios)
    {
        var at = new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero);
        return new DrillRecord
        {
            RunId = "20261204T130000Z-drill-local-ci", Conclusion = "every target met", Environment = "local", Profile = "ci", User = "oncall", Host = "drill-host",
            HarnessCommit = "37421dc", StartedAt = at, FinishedAt = at.AddMinutes(2), RecordedAt = at.AddMinutes(3), Tests = [], Ncc = [], Evidence = [],
            Targets = targets,
            Scenarios = scenarios,
        };
    }
}

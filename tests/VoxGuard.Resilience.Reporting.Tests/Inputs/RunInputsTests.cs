using VoxGuard.Resilience.Reporting.Inputs;
using VoxGuard.Resilience.Reporting.Tests.Support;

namespace VoxGuard.Resilience.Reporting.Tests.Inputs;

public sealed class RunInputsTests
{
    [Test]
    public void A_report_of_an_older_harness_gets_a_start_time_and_its_unlisted_evidence_files()
    {
        using var run = new FakeRun();
        File.WriteAllText(Path.Combine(run.ScenariosDirectory, "lagos-region-loss.json"), """
            {
              "scenario": "lagos-region-loss", "environment": "local", "profile": "ci", "finishedAt": "2026-11-23T14:28:00+00:00",
              "verdicts": [ { "scenario": "lagos-region-loss", "target": "failover", "measured": "2.40 s", "required": "< 30.00 s", "passed": true } ],
              "faults": [ { "name": "kill lagos", "start": "00:00:05", "end": null } ],
              "transitions": [ { "at": "00:00:06.2000000", "subject": "balancer/lagos", "state": "DOWN" } ]
            }
            """);
        File.WriteAllText(Path.Combine(run.ScenariosDirectory, "lagos-region-loss-calls.csv"), "start_s,end_s,succeeded,region\n");
        File.WriteAllText(Path.Combine(run.ScenariosDirectory, "lagos-region-loss-topology-status.json"), "{\"balancer\":{\"lagos\":\"DOWN\"}}");

        var inputs = RunInputs.Read(run.RunDirectory);

        var report = inputs.Reports.Single();
        Assert.That(report.StartedAt, Is.EqualTo(new DateTimeOffset(2026, 11, 23, 14, 27, 53, 800, TimeSpan.Zero)), "finished minus the latest offset it holds");
        Assert.That(report.Steps, Is.Empty);
        Assert.That(report.Attachments.Select(attachment => attachment.File), Is.EqualTo(new[] { "lagos-region-loss-calls.csv" }));
    }

    [Test]
    public void Json_evidence_beside_the_reports_is_not_taken_for_a_report()
    {
        using var run = FakeRun.Default();

        var inputs = RunInputs.Read(run.RunDirectory);

        Assert.That(inputs.Reports.Select(report => report.Scenario), Is.EqualTo(new[] { "lagos-region-loss", "negative-control-no-failover", "steady-state" }));
        Assert.That(inputs.Outcomes, Has.Count.EqualTo(4));
    }
}

using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Drills;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Measurement;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>
/// Negative controls: for each asserted target, a deliberately broken configuration that must make that verdict
/// fail. A control passes when its verdict misses; if a check could not fail, its control catches it. Each breaks one
/// thing only, so a control that stops missing names the check that stopped working. Scenario names start with
/// <c>negative-control</c> (the drill shows their misses as "missed as designed").
/// </summary>
[TestFixture]
[NonParallelizable]
[Category(ScenarioShares.OwnTopologyCategory)]
[AllureScenario("Negative controls", AllureSeverity.Normal, "negative-control")]
[Category("Gate")]
[Category(AllureScenarioAttribute.NegativeControlCategory)]
public sealed class NegativeControls
{
    [Test]
    public async Task A_balancer_that_never_marks_lagos_down_and_never_redispatches_misses_the_failover_target()
    {
        // The circuit breaker off too: it would mark lagos down after 5 refused connections, whatever the checks say.
        var broken = ScenarioSettings.EnvironmentWith(("rise: 2, fall: 3 }", "rise: 2, fall: 1000 }"), ("redispatch: true", "redispatch: false"),
            ("circuit_breaker: { failures_to_open", "circuit_breaker: { enabled: false, failures_to_open"));
        // 17 s after the fault is plenty to show no recovery; the profile's detection time (500 s here) is not.
        await using var run = await RegionLoss.RunAsync("negative-control-no-failover", broken, lost: "lagos", observeFor: TimeSpan.FromSeconds(17), negativeControl: true);

        AssertMissed(run, TargetKind.Failover, "failover", "with these timings Lagos keeps its 70 % share while dead");
        AssertMissed(run, TargetKind.Failover, "detection", "a balancer that needs 1000 failed checks and has no circuit breaker never marks lagos down within the observation");
    }

    [Test]
    public async Task Patroni_in_maintenance_mode_never_promotes_a_standby_and_misses_the_failover_target()
    {
        // Patroni paused before the load: it watches and elects nobody, so PostgreSQL has no primary after Lagos's loss and
        // every call (each writes to both stores) fails however well the balancer and Sentinel do their part.
        // Observed until the failover target has passed with a full recovery window of calls after it: a recovery the
        // check could still credit (under the target) would show by then; Patroni's worst election + 15 s is not needed.
        var environment = ScenarioSettings.Environment();
        await using var run = await RegionLoss.RunAsync("negative-control-patroni-paused", environment, lost: "lagos",
            observeFor: environment.Targets.Failover + TargetJudge.RecoveryWindow + TimeSpan.FromSeconds(1),
            beforeLoad: run => run.StepAsync("configure: Patroni maintenance mode (no automatic failover)", () => run.Topology.Postgres.SetMaintenanceModeAsync(paused: true)), negativeControl: true);

        AssertMissed(run, TargetKind.Failover, "failover (service back", "no PostgreSQL primary is ever elected while Patroni is paused");
        AssertMissed(run, TargetKind.Failover, "Postgres failover by itself", "Patroni in maintenance mode promotes nobody");
        AssertMissed(run, TargetKind.Failover, "primaries outside lagos", "no PostgreSQL node answers as primary: lagos is dead and nobody was promoted");
    }

    [Test]
    public async Task Source_address_affinity_with_few_clients_misses_the_70_15_15_distribution()
    {
        // The guide's `balance source`: the load's few source addresses hash to whichever regions they hash to.
        var broken = ScenarioSettings.EnvironmentWith(("mode: roundrobin", "mode: source"));
        await using var run = await SteadyStateScenario.RunAsync("negative-control-source-affinity", broken, negativeControl: true);

        AssertMissed(run, TargetKind.Distribution, "distribution deviation", "source hashing of a handful of clients cannot hold 70/15/15");
    }

    [Test]
    public async Task A_slow_link_to_abuja_misses_the_replication_lag_target()
    {
        var broken = ScenarioSettings.EnvironmentWith(("{ from: lagos, to: abuja, latency: 20ms }", "{ from: lagos, to: abuja, latency: 400ms }"));
        await using var run = await SteadyStateScenario.RunAsync("negative-control-slow-replication", broken, negativeControl: true);

        AssertMissed(run, TargetKind.ReplicationLag, "replication lag p99 abuja", "WAL crossing a 400 ms link trails by at least 200 ms");
    }

    [Test]
    public async Task Replication_blackholed_longer_than_the_rpo_target_misses_the_rpo_target()
    {
        // The RPO target is scaled down to 2 s so the control fits the gate's budget; replication is blackholed for
        // 4 s before Lagos is lost (links cut and processes killed), so about 4 s of acknowledged writes are gone.
        var broken = ScenarioSettings.EnvironmentWith(("rpo: 60s", "rpo: 2s"));
        await using var run = await ScenarioRun.StartAsync("negative-control-replication-blackholed", broken, negativeControl: true);
        var primary = broken.Primary.Name;
        var load = run.StartLoad(callsPerSecond: 50, duration: TimeSpan.FromSeconds(14));
        await run.UntilAsync(TimeSpan.FromSeconds(3));
        var replicationLinks = broken.Regions.Where(region => region.Name != primary)
            .SelectMany(region => new[] { $"{region.Name}-{primary}-pg", $"{region.Name}-{primary}-redis" }).ToList();
        await run.StepAsync("inject: blackhole replication towards the replicas", () => run.InjectAsync("blackhole replication",
            () => run.Topology.ShapeLinksAsync(replicationLinks, ToxicSpec.Timeout(TimeSpan.Zero))));
        await run.UntilAsync(TimeSpan.FromSeconds(7));
        var loss = await RegionLoss.LoseAsync(run, primary, $"lose {primary}");
        await RegionLoss.ObserveFailoverAsync(run, primary);
        var result = await load;
        await Judgements.JudgeRpoAsync(run, loss.Start);
        await run.WriteReportAsync(ScenarioSettings.ReportDirectory, result);

        AssertMissed(run, TargetKind.DataLoss, "Postgres RPO", "4 s of writes never reached a replica");
        AssertMissed(run, TargetKind.DataLoss, "Redis RPO", "4 s of writes never reached a replica");
    }

    [Test]
    public async Task Isolating_lagos_without_fencing_misses_the_split_brain_prevented_promise()
    {
        await using var run = await SplitBrainScenario.RunAsync("negative-control-split-brain-unfenced", SplitBrainScenario.Configured(fenced: false), negativeControl: true);

        AssertMissed(run, TargetKind.SplitBrain, "acknowledged writes lost to the split brain", "an isolated primary without fencing acknowledges writes the majority never sees");
    }

    /// <summary>Asserts that a verdict of <paramref name="kind"/> whose target mentions <paramref name="target"/> missed.</summary>
    private static void AssertMissed(ScenarioRun run, TargetKind kind, string target, string why)
    {
        var checks = run.Verdicts.Where(verdict => verdict.Kind == kind && verdict.Target.Contains(target, StringComparison.Ordinal)).ToList();
        foreach (var verdict in checks)
        {
            TestContext.Out.WriteLine($"{(verdict.Passed ? "control: passed (!)" : "control: missed as designed")}  {verdict.Target}: {verdict.Measured} (required {verdict.Required}) — {verdict.Detail}");
        }

        Assert.That(run.Verdicts.All(verdict => verdict.NegativeControl), Is.True, "a negative control's verdicts must say so (ScenarioRun.StartAsync negativeControl: true)");
        Assert.That(checks, Is.Not.Empty, $"no {kind} verdict '{target}' was judged");
        Assert.That(checks.Any(verdict => !verdict.Passed), Is.True, $"the {kind} verdict '{target}' must be able to fail: {why}");
    }
}

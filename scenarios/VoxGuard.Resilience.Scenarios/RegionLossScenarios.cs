using VoxGuard.Resilience.Drills;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>
/// Scenario 2, Lagos region loss: every Lagos process SIGKILLed under load. Service is back within the failover
/// target, traffic moves to Abuja/Asaba ≈ 50/50, new primaries are elected for both stores, RPO within target with
/// the lost writes listed. Scenario 3, Abuja or Asaba loss: the primaries stay in Lagos, service stays within target
/// and the lost region's share spreads over the others by their weights. And a negative control: a configuration that
/// cannot fail over must fail the RTO verdict.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class RegionLossScenarios
{
    [Test]
    [Category("Gate")]
    [Category("Drill")]
    public async Task Losing_lagos_fails_over_within_target_to_abuja_and_asaba_50_50_within_rpo()
    {
        await using var run = await RegionLoss.RunAsync("lagos-region-loss", ScenarioSettings.Environment(), lost: "lagos");

        Verdicts.AssertAllPassed(run);
    }

    [TestCase("abuja")]
    [TestCase("asaba")]
    [Category("Gate")]
    [Category("Drill")]
    public async Task Losing_a_replica_region_keeps_service_and_spreads_its_share_over_the_others(string lost)
    {
        await using var run = await RegionLoss.RunAsync($"{lost}-region-loss", ScenarioSettings.Environment(), lost);

        Verdicts.AssertAllPassed(run);
    }

    [Test]
    [Category("Gate")]
    [Category("NegativeControl")]
    public async Task Negative_control_a_balancer_that_never_marks_lagos_down_and_never_redispatches_misses_the_failover_target()
    {
        var broken = ScenarioSettings.EnvironmentWith(("rise: 2, fall: 3 }", "rise: 2, fall: 1000 }"), ("redispatch: true", "redispatch: false"));
        await using var run = await RegionLoss.RunAsync("negative-control-no-failover", broken, lost: "lagos");
        var failover = run.Verdicts.Single(verdict => verdict.Target.StartsWith("failover", StringComparison.Ordinal));
        TestContext.Out.WriteLine($"{failover.Target}: {failover.Measured} — {failover.Detail}");

        Assert.That(failover.Passed, Is.False, "the failover verdict must be able to fail: with these timings Lagos keeps its 70 % share while dead");
    }
}

using VoxGuard.Resilience.Drills;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>
/// Scenario 2, Lagos region loss: every Lagos process SIGKILLed under load. Service is back within the failover
/// target, traffic moves to Abuja/Asaba ≈ 50/50, new primaries are elected for both stores, RPO within target with
/// the lost writes listed. Scenario 3, Abuja or Asaba loss: the primaries stay in Lagos, service stays within target
/// and the lost region's share spreads over the others by their weights. (Its negative control is in
/// <see cref="NegativeControls"/>.)
/// </summary>
[TestFixture]
[NonParallelizable]
[Order(3)]
[AllureScenario("Region loss", AllureSeverity.Blocker, "failover", "rpo", "distribution")]
public sealed class RegionLossScenarios
{
    [Test]
    [Category("Gate")]
    [Category("Drill")]
    [Order(2)] // last of the fixture: the failback (the next fixture) continues from what it leaves
    public async Task Losing_lagos_fails_over_within_target_to_abuja_and_asaba_50_50_within_rpo()
    {
        await using var run = await RegionLoss.RunAsync("lagos-region-loss", ScenarioSettings.Environment(), lost: "lagos");

        Verdicts.AssertAllPassed(run);
        run.LeaveTopology(TopologyCondition.AfterLossOf("lagos"));
    }

    [TestCase("abuja")]
    [TestCase("asaba")]
    [Category("Gate")]
    [Category("Drill")]
    [Order(1)]
    public async Task Losing_a_replica_region_keeps_service_and_spreads_its_share_over_the_others(string lost)
    {
        await using var run = await RegionLoss.RunAsync($"{lost}-region-loss", ScenarioSettings.Environment(), lost);

        Verdicts.AssertAllPassed(run);
    }
}

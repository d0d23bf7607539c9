using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Drills;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Measurement;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>
/// Scenario 6, failback: after Lagos's loss (scenario 2), the documented procedure under load — Lagos rejoins as a
/// replica, catches up, is promoted back for both stores, weights return to 70/15/15. Measured: how long it takes, that
/// no acknowledged write is lost across it, and that traffic returns to 70/15/15.
/// </summary>
/// <remarks>
/// It continues from the topology scenario 2 leaves (Lagos lost, both stores failed over — checked on the servers first),
/// since that loss and its verdicts are scenario 2's; run alone, or when the check fails, it loses Lagos itself first.
/// </remarks>
[TestFixture]
[NonParallelizable]
[Order(4)]
[AllureScenario("Failback", AllureSeverity.Critical, "failback", "rpo")]
public sealed class FailbackScenario
{
    private const string Name = "lagos-failback";

    /// <summary>Load after the failback ends that the 70/15/15 split is judged over.</summary>
    private static readonly TimeSpan SplitWindow = TimeSpan.FromSeconds(8);

    [Test]
    [Category("Gate")]
    [Category("Drill")]
    public async Task Failback_restores_lagos_as_primary_with_no_acknowledged_write_lost_and_traffic_back_to_70_15_15()
    {
        var environment = ScenarioSettings.Environment();
        await using var run = await ScenarioRun.ContinueAsync(Name, environment, TopologyCondition.AfterLossOf("lagos"));
        if (run.ContinuesFrom is null)
        {
            await RegionLoss.LoseUnderLoadAsync(run, lost: "lagos");
        }

        var loadStart = run.Now;
        // The load ends SplitWindow + 1 s after the failback does, however long that takes (the documented profile waits
        // rise × interval = 20 s for the balancer alone); the bound only stops a failback that never ends.
        using var endLoad = new CancellationTokenSource();
        var loadTask = run.StartLoad(callsPerSecond: 50, duration: TimeSpan.FromSeconds(2) + environment.Targets.Rto + TimeSpan.FromSeconds(1) + SplitWindow, stop: endLoad.Token);
        FaultMarker failback;
        try
        {
            await run.StepAsync("steady state: load on abuja and asaba after lagos's loss", () => run.UntilAsync(loadStart + TimeSpan.FromSeconds(2)));
            failback = await run.StepAsync("heal: the documented failback (rejoin lagos, catch up, switch both stores back, weights 70/15/15)",
                () => run.InjectAsync("failback to lagos", async () => await run.Topology.FailbackAsync()));
        }
        catch
        {
            await endLoad.CancelAsync(); // no load left running for the bound
            throw;
        }

        run.EndFault(failback);
        var failbackEnd = run.Faults.Single(fault => fault.Name == failback.Name).End!.Value;
        endLoad.CancelAfter(failbackEnd + TimeSpan.FromSeconds(1) + SplitWindow - run.Now);
        var load = await run.StepAsync($"observe: {SplitWindow.TotalSeconds:F0} s of load after the failback", () => loadTask);

        run.Judge(TargetVerdict.Below(TargetKind.Failback, "failback (rejoin, catch up, switch both stores back, weights)", failbackEnd - failback.Start, environment.Targets.Rto));
        foreach (var store in new[] { WriteStore.Postgres, WriteStore.Redis })
        {
            var writes = run.WritesOf(store);
            var accounting = run.Keep(store, WriteAccounting.Account(writes, await run.ReadBackAsync(store), failback.Start));
            var acknowledgedAt = writes.Where(write => write.Acknowledged is not null).ToDictionary(write => write.Id, write => write.Acknowledged!.Value, StringComparer.Ordinal);
            var lostAcrossFailback = accounting.Lost.Count(id => acknowledgedAt[id] >= failback.Start);
            run.Judge(TargetVerdict.Zero(TargetKind.DataLoss, $"{store} writes acknowledged during or after failback and lost", lostAcrossFailback, $"{accounting.Acknowledged} acknowledged in the whole run"));
        }

        var calls = run.CallsOf(load);
        var expected = environment.Regions.ToDictionary(region => region.Name, region => (double)region.Weight, StringComparer.Ordinal);
        Judgements.JudgeSplit(run, "split after failback (70/15/15)", calls, expected, failbackEnd + TimeSpan.FromSeconds(1), run.Now);
        await Judgements.JudgePrimariesAsync(run, TargetKind.Failback, "primaries back in lagos", region => region == "lagos", "lagos");
        await run.WriteReportAsync(ScenarioSettings.ReportDirectory, load);
        Verdicts.AssertAllPassed(run);
        run.LeaveTopology(TopologyCondition.Healthy);
    }
}

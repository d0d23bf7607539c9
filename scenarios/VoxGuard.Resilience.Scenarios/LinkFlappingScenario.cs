using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Drills;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Measurement;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>
/// Scenario 7, link degradation and flapping between Lagos and Abuja under load: first the links slow down
/// (150 ± 50 ms more each way), then they drop and come back every 2 s (cut 0.7 s), a bounded number of times. A
/// flapping link must not cost data or trigger a failover (one region losing one peer is no quorum), and service and
/// replication must be back soon after it settles.
/// </summary>
[TestFixture]
[NonParallelizable]
[Order(2)]
[AllureScenario("Link degradation and flapping", AllureSeverity.Critical, "links", "rpo", "failover")]
public sealed class LinkFlappingScenario
{
    private const string Name = "lagos-abuja-link-flapping";
    private const int Flaps = 6;
    private static readonly TimeSpan Degradation = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan DegradationJitter = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan CutFor = TimeSpan.FromMilliseconds(700);
    private static readonly TimeSpan FlapPeriod = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ReplicationSettles = TimeSpan.FromSeconds(5);

    [Test]
    [Category("Gate")]
    [Category("Drill")]
    public async Task A_degraded_then_flapping_link_loses_no_write_triggers_no_failover_and_service_comes_back()
    {
        var environment = ScenarioSettings.Environment();
        var (one, other) = (environment.Primary.Name, environment.Regions.First(region => !region.IsPrimary).Name);
        await using var run = await ScenarioRun.ContinueAsync(Name, environment, TopologyCondition.Healthy);
        var links = run.Topology.Links.Plan.Where(link => link.Touches(one) && link.Touches(other)).Select(link => link.Name).ToList();

        var loadTask = run.StartLoad(callsPerSecond: 50, duration: TimeSpan.FromSeconds(3 + 4 + (Flaps * FlapPeriod.TotalSeconds) + 8));
        await run.StepAsync("steady state: load before the link trouble", () => run.UntilAsync(TimeSpan.FromSeconds(3)));

        var degraded = await run.StepAsync($"inject: {Degradation.TotalMilliseconds:F0} ± {DegradationJitter.TotalMilliseconds:F0} ms more on every {one}–{other} link", () =>
            run.InjectAsync($"degrade {one}–{other}", () => run.Topology.ShapeLinksAsync(links, ToxicSpec.Latency(Degradation, DegradationJitter))));
        await run.UntilAsync(degraded.Start + TimeSpan.FromSeconds(4));
        await run.StepAsync("heal: remove the degradation", async () =>
        {
            await run.Topology.UnshapeLinksAsync(links);
            run.EndFault(degraded);
        });

        var flapping = await run.StepAsync($"inject: {Flaps} flaps — every {FlapPeriod.TotalSeconds:F0} s the {one}–{other} links drop for {CutFor.TotalMilliseconds:F0} ms", () =>
            run.InjectAsync($"flap {one}–{other} ×{Flaps}", async () =>
            {
                var start = run.Now;
                for (var flap = 0; flap < Flaps; flap++)
                {
                    await run.UntilAsync(start + (flap * FlapPeriod));
                    await run.Topology.IsolateBetweenAsync(one, other);
                    await run.UntilAsync(start + (flap * FlapPeriod) + CutFor);
                    await run.Topology.HealBetweenAsync(one, other);
                }
            }));
        run.EndFault(flapping);
        var settledAt = run.Now;
        var load = await run.StepAsync("observe: load runs to its end", () => loadTask);
        var calls = run.CallsOf(load);

        run.Judge(TargetJudge.ServiceBack(TargetKind.Failover, "service back and staying back (from the first degradation)", calls, degraded.Start, environment.Targets.Failover).Verdict);
        run.Judge(TargetJudge.LagBackUnder($"replication lag back under {environment.Replication.LagTarget.TotalMilliseconds:F0} ms after the last flap", run.LagSamples,
            environment.Replication.LagTarget, settledAt, ReplicationSettles));
        Judgements.JudgeSplit(run, "split after the flapping (70/15/15)", calls, Judgements.Weights(run), settledAt + TimeSpan.FromSeconds(1), run.Now);

        await run.StepAsync("verify: no failover, no dual primary, every acknowledged write read back", async () =>
        {
            foreach (var (store, accounting) in await Judgements.JudgeRpoAsync(run, degraded.Start))
            {
                run.Judge(TargetJudge.NoneLost(TargetKind.DataLoss, $"{store} acknowledged writes lost", accounting));
                run.Judge(TargetJudge.NoDualPrimary(store.ToString(), SplitBrainAnalysis.DualPrimaryWindows(run.RolesOf(store), run.Now)));
            }

            await Judgements.JudgePrimariesAsync(run, TargetKind.Failover, "no failover (primaries stay put)", region => region == one, one);
        });

        await run.WriteReportAsync(ScenarioSettings.ReportDirectory, load);
        Verdicts.AssertAllPassed(run);
        run.LeaveTopology(TopologyCondition.Healthy);
    }
}

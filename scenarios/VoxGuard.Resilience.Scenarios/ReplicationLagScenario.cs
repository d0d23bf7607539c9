using System.Globalization;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Drills;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Measurement;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>
/// Scenario 5, replication lag: a delay on the links carrying the primary's WAL to the replicas, under load. The
/// measured lag follows the injected delay, the &gt; 500 ms alert condition is observed, the lag returns under the
/// 100 ms target once the delay is removed — and a region loss while the replicas trail shows an RPO about the lag.
/// </summary>
/// <remarks>
/// Lag is the primary's view (pg_stat_replication.replay_lag: WAL flushed until the standby reports it replayed), so
/// the link's delay counts. The region loss here cuts the region's links as it kills it — a lost region's in-flight
/// WAL is lost with it; a bare kill would let the link server deliver the delayed bytes afterwards.
/// </remarks>
[TestFixture]
[NonParallelizable]
[Order(5)]
[AllureScenario("Replication lag", AllureSeverity.Critical, "replication-lag", "rpo")]
public sealed class ReplicationLagScenario
{
    private const string Name = "replication-lag";
    private static readonly TimeSpan InjectedDelay = TimeSpan.FromMilliseconds(800);
    private static readonly TimeSpan DelayBeforeLoss = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan SettleWindow = TimeSpan.FromSeconds(5);

    [Test]
    [Category("Gate")]
    [Category("Drill")]
    public async Task Lag_follows_the_injected_delay_raises_the_alert_clears_after_removal_and_sets_the_rpo_of_a_region_loss()
    {
        var environment = ScenarioSettings.Environment();
        await using var run = await ScenarioRun.ContinueAsync(Name, environment, TopologyCondition.Healthy);
        var primary = await run.Topology.Postgres.PrimaryRegionAsync();
        var replicationLinks = environment.Regions.Where(region => region.Name != primary).Select(region => $"{region.Name}-{primary}-pg").ToList();
        var alert = environment.Replication.LagAlert;

        var loadTask = run.StartLoad(callsPerSecond: 50, duration: TimeSpan.FromSeconds(27));
        await run.StepAsync("steady state: 3 s of load, replicas streaming", () => run.UntilAsync(TimeSpan.FromSeconds(3)));
        var delay = await run.StepAsync($"inject: {InjectedDelay.TotalMilliseconds:F0} ms more on {string.Join(", ", replicationLinks)} (WAL towards the replicas)",
            () => run.InjectAsync($"replication delay {InjectedDelay.TotalMilliseconds:F0} ms", () => run.Topology.ShapeLinksAsync(replicationLinks, ToxicSpec.Latency(InjectedDelay))));
        await run.StepAsync("observe: the lag under the delay", () => run.UntilAsync(delay.Start + TimeSpan.FromSeconds(6)));
        await run.StepAsync("heal: remove the delay", () => run.Topology.UnshapeLinksAsync(replicationLinks));
        run.EndFault(delay);
        var removedAt = run.Now;
        // The verdict below takes the first moment every replica is back under the target: once seen (and a second of
        // samples after it for the summary), the rest of the window shows nothing it judges.
        await run.StepAsync("observe: the lag drains", async () =>
        {
            while (run.Now < removedAt + SettleWindow)
            {
                if (LagAnalysis.ReturnedUnder(run.LagSamples, environment.Replication.LagTarget, removedAt) is { } returned && run.Now >= returned + TimeSpan.FromSeconds(1))
                {
                    break;
                }

                await Task.Delay(100);
            }
        });

        var delayed = run.LagSamples.Where(sample => sample.At >= delay.Start + TimeSpan.FromSeconds(2) && sample.At < removedAt).ToList();
        foreach (var replica in LagAnalysis.Summarise(delayed, alert))
        {
            var expectedFloor = InjectedDelay;
            var expectedCeiling = InjectedDelay + TimeSpan.FromMilliseconds(300);
            run.Judge(TargetVerdict.Condition(TargetKind.ReplicationLag, $"lag follows the injected delay ({replica.Replica}, median)", Milliseconds(replica.P50),
                $"{Milliseconds(expectedFloor)}–{Milliseconds(expectedCeiling)}", replica.P50 >= expectedFloor && replica.P50 <= expectedCeiling,
                $"{replica.Samples} samples while delayed, max {Milliseconds(replica.Max)}"));
            run.Judge(TargetVerdict.Condition(TargetKind.ReplicationLag, $"lag alert condition (> {Milliseconds(alert)}) observed ({replica.Replica})",
                string.Create(CultureInfo.InvariantCulture, $"{replica.TimeAboveAlert.TotalSeconds:F1} s above"), "> 0 s while delayed", replica.TimeAboveAlert > TimeSpan.Zero));
        }

        var drained = run.LagSamples.Where(sample => sample.At >= removedAt && sample.At < removedAt + SettleWindow).ToList();
        var returned = LagAnalysis.ReturnedUnder(drained, environment.Replication.LagTarget, removedAt);
        var after = LagAnalysis.Summarise(drained.Where(sample => sample.At >= (returned ?? removedAt)), alert);
        run.Judge(TargetJudge.LagBackUnder($"lag back under {Milliseconds(environment.Replication.LagTarget)} after the delay is removed", drained,
            environment.Replication.LagTarget, removedAt, SettleWindow,
            "until every replica's latest sample is under the target; after that: " + string.Join(", ", after.Select(replica => $"{replica.Replica} p50 {Milliseconds(replica.P50)} max {Milliseconds(replica.Max)}"))));

        // A region loss while the replicas trail: what they had not received is lost.
        var behind = await run.StepAsync($"inject: {DelayBeforeLoss.TotalSeconds:F0} s delay on the replication links, let the replicas fall behind",
            () => run.InjectAsync($"replication delay {DelayBeforeLoss.TotalSeconds:F0} s", () => run.Topology.ShapeLinksAsync(replicationLinks, ToxicSpec.Latency(DelayBeforeLoss))));
        await run.UntilAsync(behind.Start + DelayBeforeLoss + TimeSpan.FromSeconds(1));
        for (var waited = 0; waited < 50 && !EveryReplicaTrails(run, replicationLinks.Count, behind.Start); waited++)
        {
            await Task.Delay(100); // on a busy host the delayed WAL's feedback can take a little longer to show
        }

        // Patroni promotes the most advanced replica, so the smallest of the replicas' latest lags is what the loss costs.
        // Only samples taken once delayed WAL can have arrived: replay_lag keeps its last value while no feedback comes,
        // so a replica's latest sample can still be the 30 ms from before the delay (CI saw a 34 ms "lag at the loss").
        var lagAtLoss = run.LagSamples.Where(sample => sample.At >= behind.Start + DelayBeforeLoss)
            .GroupBy(sample => sample.Replica).Select(samples => (TimeSpan?)samples.Last().Lag).Min();
        var loss = await RegionLoss.LoseAsync(run, primary, $"lose {primary} during lag");
        await RegionLoss.ObserveFailoverAsync(run, primary);
        var load = await run.StepAsync("observe: load runs to its end", () => loadTask);

        var accounting = await run.StepAsync("verify: read every write back from the new primaries", () => Judgements.JudgeRpoAsync(run, loss.Start));
        var rpo = accounting[WriteStore.Postgres].Rpo;
        var tolerance = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(500).Ticks, (lagAtLoss ?? TimeSpan.Zero).Ticks / 4));
        run.Judge(TargetVerdict.Condition(TargetKind.DataLoss, "PostgreSQL RPO of a region loss during lag ≈ the lag", rpo is { } value ? Milliseconds(value) : "nothing lost",
            lagAtLoss is { } lag ? $"{Milliseconds(lag)} ± {Milliseconds(tolerance)}" : "a lag sample before the loss",
            rpo is { } measured && lagAtLoss is { } expected && (measured - expected).Duration() <= tolerance,
            $"{accounting[WriteStore.Postgres].Lost.Count} acknowledged writes lost; the lag is the smallest of the replicas' last samples before the loss"));

        await run.WriteReportAsync(ScenarioSettings.ReportDirectory, load);
        Verdicts.AssertAllPassed(run);
    }

    private static bool EveryReplicaTrails(ScenarioRun run, int replicas, TimeSpan since) =>
        run.LagSamples.Where(sample => sample.At >= since && sample.Lag >= DelayBeforeLoss * 0.9).Select(sample => sample.Replica).Distinct().Count() >= replicas;

    private static string Milliseconds(TimeSpan value) => value.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture) + " ms";
}

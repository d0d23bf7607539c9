using VoxGuard.Resilience.Drills;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Measurement;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>
/// The region-loss procedure the scenarios and their negative controls share: load, a hard kill of every process of
/// the region, the failover as the deployment does it, and every verdict measured from the timeline.
/// </summary>
/// <remarks>
/// Failover: the balancer's health checks take the region out; Redis Sentinel elects a new master on its own (the
/// harness does not steer it: forcing a second failover while Sentinel's own was settling lost acknowledged writes);
/// the PostgreSQL stand-in has no automatic election (YugabyteDB has), so the harness plays the orchestrator (as
/// Patroni would) and promotes the survivor holding the most WAL (priority breaks ties) as soon as the balancer has marked the region down.
/// </remarks>
internal static class RegionLoss
{
    public static readonly TimeSpan FaultAt = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(22);

    public static async Task<ScenarioRun> RunAsync(string name, EnvironmentDefinition environment, string lost)
    {
        var run = await ScenarioRun.StartAsync(name, environment);
        try
        {
            var loadTask = run.StartLoad(callsPerSecond: 50, duration: LoadDuration);
            await run.UntilAsync(FaultAt);
            var fault = await run.InjectAsync($"kill {lost}", () => run.Topology.KillRegionAsync(lost));

            TimeSpan? detected = null;
            try
            {
                await run.Topology.Sip.WaitUntilStateAsync(lost, BalancerServerStatus.Down, environment.Targets.Failover);
                detected = run.Now - fault.Start;
            }
            catch (TimeoutException)
            {
                // not detected within the failover target: the verdict below says so
            }

            if (run.Topology.Postgres.PrimaryRegion == lost)
            {
                await run.Topology.Postgres.PromoteAsync(await run.Topology.Postgres.MostAdvancedStandbyAsync());
            }

            var load = await loadTask;
            var calls = run.CallsOf(load);
            foreach (var line in run.WriteFailureSummary())
            {
                TestContext.Out.WriteLine($"write failures  {line}");
            }

            run.Judge(TargetVerdict.Below(name, $"detection ({lost} marked down by the balancer)", detected, environment.Targets.Failover,
                $"health check every {environment.Balancer.HealthCheck.Interval.TotalMilliseconds:F0} ms, fall {environment.Balancer.HealthCheck.Fall}", missing: "not detected"));

            var recovery = RecoveryAnalysis.Analyse(calls, fault.Start, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100), threshold: 0.99, minimumCalls: 10);
            run.Judge(TargetVerdict.Below(name, "failover (service back and staying back)", recovery.RecoveryTime, environment.Targets.Failover,
                $"{recovery.FailedCalls} of {recovery.CallsAfterFault} calls after the fault failed; worst 1 s window {recovery.WorstWindowRatio:P1}"));

            var survivors = environment.Regions.Where(region => region.Name != lost).ToList();
            // The documented split after losing the primary region; otherwise the lost share spreads by weight.
            var documented = environment.Region(lost).IsPrimary ? environment.Targets.TrafficSplitAfterPrimaryLoss : new Dictionary<string, double>();
            var expected = environment.Regions.ToDictionary(
                region => region.Name,
                region => region.Name == lost ? 0 : documented.GetValueOrDefault(region.Name, 100.0 * region.Weight / survivors.Sum(other => other.Weight)),
                StringComparer.Ordinal);
            var after = (recovery.RecoveryTime ?? TimeSpan.Zero) + fault.Start;
            var distribution = DistributionAnalysis.Measure(calls, expected, after, run.Now);
            run.Judge(TargetVerdict.AtMost(name, $"split after losing {lost} ({string.Join('/', expected.Where(pair => pair.Value > 0).Select(pair => $"{pair.Key} {pair.Value:F0}"))})",
                distribution.MaxRelativeDeviation, environment.Targets.DistributionDeviationAlertPercent,
                string.Join(", ", distribution.Shares.Select(share => $"{share.Key} {share.Value:F1} %")) + $" of {distribution.Answered} answered"));

            foreach (var store in new[] { WriteStore.Postgres, WriteStore.Redis })
            {
                var accounting = await run.AccountAsync(store, fault.Start);
                var lostIds = accounting.Lost.Count == 0 ? "none" : string.Join(", ", accounting.Lost.Take(10)) + (accounting.Lost.Count > 10 ? $" … ({accounting.Lost.Count})" : string.Empty);
                run.Judge(TargetVerdict.Below(name, $"{store} RPO", accounting.Rpo, environment.Targets.Rpo,
                    $"{accounting.Acknowledged} acknowledged, {accounting.Lost.Count} lost: {lostIds}; {accounting.Recovered.Count} unacknowledged but present"));
                run.Judge(TargetVerdict.Zero(name, $"{store} unexpected writes", accounting.Unexpected.Count));
            }

            var redisMaster = await run.Topology.Redis.MasterRegionAsync(timeout: environment.Targets.Failover);
            run.Judge(new TargetVerdict(name, $"primaries outside {lost}", $"postgres {run.Topology.Postgres.PrimaryRegion}, redis {redisMaster.Name}",
                $"neither in {lost}", run.Topology.Postgres.PrimaryRegion != lost && redisMaster.Name != lost));
            await run.WriteReportAsync(ScenarioSettings.ReportDirectory, load);
            return run;
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }
    }
}

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

    /// <summary>How long load runs after the fault: long enough to see recovery stay (17 s) or, with slow health checks,
    /// the whole detection plus 15 s — a documented-profile drill measures the full outage instead of a timeout.</summary>
    /// <remarks>Capped at 90 s: a configuration that cannot detect at all (a negative control) needs no longer.</remarks>
    public static TimeSpan ObservedAfterFault(EnvironmentDefinition environment) =>
        TimeSpan.FromTicks(Math.Clamp((environment.DetectionTime + TimeSpan.FromSeconds(15)).Ticks, TimeSpan.FromSeconds(17).Ticks, TimeSpan.FromSeconds(90).Ticks));

    public static async Task<ScenarioRun> RunAsync(string name, EnvironmentDefinition environment, string lost, TimeSpan? observeFor = null)
    {
        var run = await ScenarioRun.StartAsync(name, environment);
        try
        {
            var observed = observeFor ?? ObservedAfterFault(environment);
            var loadTask = run.StartLoad(callsPerSecond: 50, duration: FaultAt + observed);
            await run.StepAsync("steady state: load through the balancer before the fault", () => run.UntilAsync(FaultAt));
            var fault = await run.StepAsync($"inject: SIGKILL every {lost} process", () => run.InjectAsync($"kill {lost}", () => run.Topology.KillRegionAsync(lost)));

            TimeSpan? detected = null;
            await run.StepAsync($"observe: the balancer marks {lost} down; the surviving PostgreSQL standby with the most WAL is promoted", async () =>
            {
                try
                {
                    await run.Topology.Sip.WaitUntilStateAsync(lost, BalancerServerStatus.Down, observed - TimeSpan.FromSeconds(5));
                    detected = run.Now - fault.Start;
                }
                catch (TimeoutException)
                {
                    // not detected while load ran: the verdict below says so
                }

                if (run.Topology.Postgres.PrimaryRegion == lost)
                {
                    await run.Topology.Postgres.PromoteAsync(await run.Topology.Postgres.MostAdvancedStandbyAsync());
                }
            });

            var load = await run.StepAsync("observe: load runs to its end", () => loadTask);
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
            Judgements.JudgeSplit(run, name, $"split after losing {lost} ({string.Join('/', expected.Where(pair => pair.Value > 0).Select(pair => $"{pair.Key} {pair.Value:F0}"))})",
                calls, expected, after, run.Now);

            await run.StepAsync("verify: read every write back from the new primaries", () => JudgeWritesAsync(run, name, fault, lost));
            await run.WriteReportAsync(ScenarioSettings.ReportDirectory, load);
            return run;
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A region lost with its network: its links cut, then every process SIGKILLed, so WAL still in flight on a
    /// delayed link is lost with it (a bare kill lets the link server deliver it afterwards).
    /// </summary>
    public static Task<FaultMarker> LoseWithLinksAsync(ScenarioRun run, string lost, string fault) =>
        run.StepAsync($"inject: {lost} lost (links cut, every process SIGKILLed)", () => run.InjectAsync(fault, async () =>
        {
            await run.Topology.IsolateRegionAsync(lost);
            await run.Topology.KillRegionAsync(lost);
        }));

    /// <summary>The failover as the deployment does it: the balancer marks the region down, the standby with the most WAL is promoted.</summary>
    public static Task FailOverFromAsync(ScenarioRun run, string lost) =>
        run.StepAsync($"observe: the balancer marks {lost} down; the standby with the most WAL is promoted", async () =>
        {
            await run.Topology.Sip.WaitUntilStateAsync(lost, BalancerServerStatus.Down, run.Environment.DetectionTime + TimeSpan.FromSeconds(5));
            await run.Topology.Postgres.PromoteAsync(await run.Topology.Postgres.MostAdvancedStandbyAsync());
        });

    private static async Task JudgeWritesAsync(ScenarioRun run, string name, FaultMarker fault, string lost)
    {
        await Judgements.JudgeRpoAsync(run, name, fault.Start);
        var redisMaster = await run.Topology.Redis.MasterRegionAsync(timeout: run.Environment.Targets.Failover);
        run.Judge(new TargetVerdict(name, $"primaries outside {lost}", $"postgres {run.Topology.Postgres.PrimaryRegion}, redis {redisMaster.Name}",
            $"neither in {lost}", run.Topology.Postgres.PrimaryRegion != lost && redisMaster.Name != lost));
    }
}

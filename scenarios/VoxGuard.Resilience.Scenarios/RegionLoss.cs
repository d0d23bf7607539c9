using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Drills;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Measurement;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>
/// The region-loss procedure the scenarios and their negative controls share: load, the loss of the region with its
/// network (links cut, every process SIGKILLed), and every verdict measured from the timeline.
/// </summary>
/// <remarks>
/// Failover is the topology's own and the harness only watches it: the balancer's health checks take the region out,
/// Redis Sentinel elects a new master, Patroni promotes a PostgreSQL standby once the lost leader's key expires in etcd.
/// Nothing here promotes, re-points or restarts anything while the fault is observed.
/// </remarks>
internal static class RegionLoss
{
    public static readonly TimeSpan FaultAt = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long load runs after the fault: the balancer's detection — and, when the lost region holds the primaries,
    /// Patroni's worst election — plus 15 s to see recovery stay, so a documented-profile drill measures the full
    /// outage instead of a timeout. Losing a replica region elects nobody, so it does not wait for an election.
    /// </summary>
    /// <remarks>At least 17 s; capped at 90 s: a configuration that cannot fail over at all (a negative control) needs no longer.</remarks>
    public static TimeSpan ObservedAfterFault(EnvironmentDefinition environment, string lost)
    {
        var election = environment.Region(lost).IsPrimary ? environment.Database.WorstFailover : TimeSpan.Zero;
        var slowest = TimeSpan.FromTicks(Math.Max(environment.DetectionTime.Ticks, election.Ticks));
        return TimeSpan.FromTicks(Math.Clamp((slowest + TimeSpan.FromSeconds(15)).Ticks, TimeSpan.FromSeconds(17).Ticks, TimeSpan.FromSeconds(90).Ticks));
    }

    /// <param name="name">The scenario's name.</param>
    /// <param name="environment">The environment (profile applied).</param>
    /// <param name="lost">The region lost.</param>
    /// <param name="observeFor">How long load runs after the fault (default <see cref="ObservedAfterFault"/>).</param>
    /// <param name="beforeLoad">Configuration of the system under test before any load or fault (a negative control's break).</param>
    /// <param name="negativeControl">True when the environment or <paramref name="beforeLoad"/> breaks something on purpose.</param>
    public static async Task<ScenarioRun> RunAsync(string name, EnvironmentDefinition environment, string lost, TimeSpan? observeFor = null,
        Func<ScenarioRun, Task>? beforeLoad = null, bool negativeControl = false)
    {
        var run = await ScenarioRun.ContinueAsync(name, environment, TopologyCondition.Healthy, negativeControl);
        try
        {
            await LoseUnderLoadAsync(run, lost, observeFor, beforeLoad);
            return run;
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }
    }

    /// <summary>The procedure of <see cref="RunAsync"/> on a run already started: load, the loss, every verdict, the report.</summary>
    public static async Task LoseUnderLoadAsync(ScenarioRun run, string lost, TimeSpan? observeFor = null, Func<ScenarioRun, Task>? beforeLoad = null)
    {
        var environment = run.Environment;
        if (beforeLoad is not null)
        {
            await beforeLoad(run);
        }

        var observed = observeFor ?? ObservedAfterFault(environment, lost);
        var loadTask = run.StartLoad(callsPerSecond: 50, duration: FaultAt + observed);
        await run.StepAsync("steady state: load through the balancer before the fault", () => run.UntilAsync(FaultAt));
        var fault = await LoseAsync(run, lost, $"lose {lost}");

        await run.StepAsync($"observe: the balancer marks {lost} down; Sentinel and Patroni elect new primaries by themselves", async () =>
        {
            try
            {
                await run.Topology.Sip.WaitUntilStateAsync(lost, BalancerServerStatus.Down, observed - TimeSpan.FromSeconds(5));
            }
            catch (TimeoutException)
            {
                // not detected while load ran: the verdict below says so
            }
        });

        var load = await run.StepAsync("observe: load runs to its end", () => loadTask);
        var calls = run.CallsOf(load);
        if (environment.Region(lost).IsPrimary)
        {
            Judgements.JudgeStoreFailover(run, lost, fault.Start);
        }

        foreach (var line in run.WriteFailureSummary())
        {
            TestContext.Out.WriteLine($"write failures  {line}");
        }

        // Detection from the balancer poller's timeline (every 100 ms), on the scenario's clock.
        run.Judge(TargetJudge.Detection(run.Transitions, lost, fault.Start, environment.Targets.Failover,
            $"health check every {environment.Balancer.HealthCheck.Interval.TotalMilliseconds:F0} ms, fall {environment.Balancer.HealthCheck.Fall}"));

        var (failover, recovery) = TargetJudge.ServiceBack(TargetKind.Failover, "failover (service back and staying back)", calls, fault.Start, environment.Targets.Failover);
        run.Judge(failover);

        var survivors = environment.Regions.Where(region => region.Name != lost).ToList();
        // The documented split after losing the primary region; otherwise the lost share spreads by weight.
        var documented = environment.Region(lost).IsPrimary ? environment.Targets.TrafficSplitAfterPrimaryLoss : new Dictionary<string, double>();
        var expected = environment.Regions.ToDictionary(
            region => region.Name,
            region => region.Name == lost ? 0 : documented.GetValueOrDefault(region.Name, 100.0 * region.Weight / survivors.Sum(other => other.Weight)),
            StringComparer.Ordinal);
        var after = (recovery.RecoveryTime ?? TimeSpan.Zero) + fault.Start;
        Judgements.JudgeSplit(run, $"split after losing {lost} ({string.Join('/', expected.Where(pair => pair.Value > 0).Select(pair => $"{pair.Key} {pair.Value:F0}"))})",
            calls, expected, after, run.Now);

        await run.StepAsync("verify: read every write back from the new primaries", () => JudgeWritesAsync(run, fault, lost));
        await run.WriteReportAsync(ScenarioSettings.ReportDirectory, load);
    }

    /// <summary>
    /// A region lost with its network: its links cut and every process SIGKILLed together, so WAL still in flight on a
    /// delayed link is lost with it.
    /// </summary>
    public static Task<FaultMarker> LoseAsync(ScenarioRun run, string lost, string fault) =>
        run.StepAsync($"inject: {lost} lost (links cut, every process SIGKILLed)", () => run.InjectAsync(fault, () => run.Topology.KillRegionAsync(lost)));

    /// <summary>
    /// Watches the failover happen: the balancer marking the region down and Patroni promoting a node elsewhere
    /// (bounded by the profile's timings). Only observes; returns when both were seen or the bound passed.
    /// </summary>
    public static Task ObserveFailoverAsync(ScenarioRun run, string lost) =>
        run.StepAsync($"observe: the balancer marks {lost} down; Patroni promotes a standby elsewhere by itself", async () =>
        {
            var bound = TimeSpan.FromTicks(Math.Max(run.Environment.DetectionTime.Ticks, run.Environment.Database.WorstFailover.Ticks)) + TimeSpan.FromSeconds(10);
            try
            {
                await run.Topology.Sip.WaitUntilStateAsync(lost, BalancerServerStatus.Down, bound);
                await run.Topology.Postgres.WaitUntilPrimaryOutsideAsync(lost, bound);
            }
            catch (Exception exception) when (exception is TimeoutException or Topology.Processes.ServerProcessException)
            {
                // not seen within the bound: the verdicts say what happened
            }
        });

    private static async Task JudgeWritesAsync(ScenarioRun run, FaultMarker fault, string lost)
    {
        await Judgements.JudgeRpoAsync(run, fault.Start);
        await Judgements.JudgePrimariesAsync(run, TargetKind.Failover, $"primaries outside {lost}", region => region != lost, $"neither in {lost}");
    }
}

using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Drills;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Measurement;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>
/// The verdicts several scenarios judge the same way: what a run observed, handed to <see cref="TargetJudge"/> (where
/// each verdict's rule lives and is tested against timelines that must miss).
/// </summary>
internal static class Judgements
{
    private static readonly WriteStore[] Stores = [WriteStore.Postgres, WriteStore.Redis];

    /// <summary>
    /// RPO and unexpected writes for both stores: every write the engines logged, read back from the current primaries,
    /// the lost ones listed (first ten) in the verdict's detail.
    /// </summary>
    public static async Task<IReadOnlyDictionary<WriteStore, WriteAccountingResult>> JudgeRpoAsync(ScenarioRun run, TimeSpan faultStart)
    {
        var results = new Dictionary<WriteStore, WriteAccountingResult>();
        // A primary Patroni has not elected by its worst election after the fault (ttl + loop_wait + retry_timeout) is
        // not coming from the failover: the wait for one counts from the fault, not from the read-back (a control that
        // pauses Patroni otherwise waited that whole bound again after its observation had already shown no election).
        var primaryWait = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, (faultStart + run.Environment.Database.WorstFailover - run.Now).Ticks));
        foreach (var store in Stores)
        {
            WriteAccountingResult accounting;
            try
            {
                accounting = await run.AccountAsync(store, faultStart, primaryWait);
            }
            catch (TimeoutException exception)
            {
                // No primary to read back from (nobody failed over): what was acknowledged cannot be shown to survive.
                run.Judge(TargetJudge.RpoNotMeasurable(TargetKind.DataLoss, store.ToString(), run.Environment.Targets.Rpo, exception.Message));
                continue;
            }

            run.Judge(TargetJudge.Rpo(TargetKind.DataLoss, store.ToString(), accounting, run.Environment.Targets.Rpo));
            run.Judge(TargetJudge.NoUnexpectedWrites(store.ToString(), accounting));
            results[store] = accounting;
        }

        return results;
    }

    /// <summary>The traffic split over [from, to) against <paramref name="expected"/> percentages, within the deviation alert.</summary>
    public static DistributionWindow JudgeSplit(ScenarioRun run, string what, IReadOnlyList<CallObservation> calls,
        IReadOnlyDictionary<string, double> expected, TimeSpan from, TimeSpan to)
    {
        var (verdict, distribution) = TargetJudge.Split(what, calls, expected, from, to, run.Environment.Targets.DistributionDeviationAlertPercent);
        run.Judge(verdict);
        return distribution;
    }

    /// <summary>
    /// Which nodes are primaries now, as every PostgreSQL and Redis node answers the role poller, judged against
    /// <paramref name="expected"/>: exactly one primary per store, in a region it accepts.
    /// </summary>
    public static async Task JudgePrimariesAsync(ScenarioRun run, TargetKind kind, string what, Func<string, bool> expected, string required) =>
        run.Judge(TargetJudge.Primaries(kind, what, await run.PrimariesNowAsync(), expected, required));

    /// <summary>
    /// How long each store took to elect a primary outside <paramref name="lost"/> on its own, from the role timeline
    /// (polled every 200 ms): Patroni for PostgreSQL, Sentinel for Redis. Judged against the failover target and
    /// labelled as the stand-in's figure.
    /// </summary>
    public static void JudgeStoreFailover(ScenarioRun run, string lost, TimeSpan faultStart)
    {
        var database = run.Environment.Database;
        foreach (var store in Stores)
        {
            var how = store == WriteStore.Postgres
                ? $"the stand-in's figure: Patroni promotes once the leader key expires (ttl {database.Ttl.TotalSeconds:F0} s, loop_wait {database.LoopWait.TotalSeconds:F0} s); " +
                  "YugabyteDB re-elects each tablet's Raft leader after a leader lease of about 2 s, so the production figure is not this one"
                : "Redis Sentinel (down-after 1 s, quorum 2) standing in for DragonflyDB's";
            run.Judge(TargetJudge.StoreElection(store.ToString(), store == WriteStore.Postgres ? "Patroni" : "Sentinel", run.RolesOf(store), lost, faultStart,
                run.Environment.Targets.Failover, how));
        }
    }

    /// <summary>The weights as expected percentages (70/15/15).</summary>
    public static IReadOnlyDictionary<string, double> Weights(ScenarioRun run) =>
        run.Environment.Regions.ToDictionary(region => region.Name, region => (double)region.Weight, StringComparer.Ordinal);
}

using VoxGuard.Resilience.Drills;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Measurement;

namespace VoxGuard.Resilience.Scenarios;

/// <summary>The verdicts several scenarios judge the same way.</summary>
internal static class Judgements
{
    /// <summary>
    /// RPO and unexpected writes for both stores: every write the engines logged, read back from the current primaries,
    /// the lost ones listed (first ten) in the verdict's detail.
    /// </summary>
    public static async Task<IReadOnlyDictionary<WriteStore, WriteAccountingResult>> JudgeRpoAsync(ScenarioRun run, string name, TimeSpan faultStart)
    {
        var results = new Dictionary<WriteStore, WriteAccountingResult>();
        foreach (var store in new[] { WriteStore.Postgres, WriteStore.Redis })
        {
            WriteAccountingResult accounting;
            try
            {
                accounting = await run.AccountAsync(store, faultStart);
            }
            catch (TimeoutException exception)
            {
                // No primary to read back from (nobody failed over): what was acknowledged cannot be shown to survive.
                run.Judge(new TargetVerdict(name, $"{store} RPO", "not measurable", $"< {run.Environment.Targets.Rpo.TotalSeconds:F0} s", false, exception.Message));
                continue;
            }

            var lostIds = accounting.Lost.Count == 0 ? "none" : string.Join(", ", accounting.Lost.Take(10)) + (accounting.Lost.Count > 10 ? $" … ({accounting.Lost.Count})" : string.Empty);
            run.Judge(TargetVerdict.Below(name, $"{store} RPO", accounting.Rpo, run.Environment.Targets.Rpo,
                $"{accounting.Acknowledged} acknowledged, {accounting.Lost.Count} lost: {lostIds}; {accounting.Recovered.Count} unacknowledged but present"));
            run.Judge(TargetVerdict.Zero(name, $"{store} unexpected writes", accounting.Unexpected.Count));
            results[store] = accounting;
        }

        return results;
    }

    /// <summary>The traffic split over [from, to) against <paramref name="expected"/> percentages, within the deviation alert.</summary>
    public static DistributionWindow JudgeSplit(ScenarioRun run, string name, string what, IReadOnlyList<CallObservation> calls,
        IReadOnlyDictionary<string, double> expected, TimeSpan from, TimeSpan to)
    {
        var distribution = DistributionAnalysis.Measure(calls, expected, from, to);
        run.Judge(TargetVerdict.AtMost(name, what, distribution.MaxRelativeDeviation, run.Environment.Targets.DistributionDeviationAlertPercent,
            string.Join(", ", distribution.Shares.Select(share => $"{share.Key} {share.Value:F1} %")) + $" of {distribution.Answered} answered"));
        return distribution;
    }

    /// <summary>
    /// Which nodes are primaries now, asked of the servers themselves (PostgreSQL <c>pg_is_in_recovery()</c>, the
    /// Sentinels' agreed master), judged against <paramref name="expected"/>: the one region that must hold both.
    /// </summary>
    public static async Task JudgePrimariesAsync(ScenarioRun run, string name, string what, Func<string, bool> expected, string required)
    {
        var postgres = await run.Topology.Postgres.PrimaryRegionsAsync();
        var redis = await run.Topology.Redis.MasterRegionAsync(timeout: run.Environment.Targets.Failover);
        var postgresText = postgres.Count == 0 ? "none" : string.Join(" + ", postgres);
        run.Judge(new TargetVerdict(name, what, $"postgres {postgresText}, redis {redis.Name}", required,
            postgres.Count == 1 && expected(postgres[0]) && expected(redis.Name),
            "observed: each PostgreSQL node asked pg_is_in_recovery(), the Sentinels asked for their master"));
    }

    /// <summary>
    /// How long each store took to elect a primary outside <paramref name="lost"/> on its own, from the role timeline
    /// (polled every 200 ms): Patroni for PostgreSQL, Sentinel for Redis. Judged against the failover target and
    /// labelled as the stand-in's figure.
    /// </summary>
    public static void JudgeStoreFailover(ScenarioRun run, string name, string lost, TimeSpan faultStart)
    {
        var database = run.Environment.Database;
        foreach (var store in new[] { WriteStore.Postgres, WriteStore.Redis })
        {
            var elected = run.RolesOf(store).FirstOrDefault(role => role.At >= faultStart && role.ClaimsPrimary && role.Node != lost);
            var how = store == WriteStore.Postgres
                ? $"the stand-in's figure: Patroni promotes once the leader key expires (ttl {database.Ttl.TotalSeconds:F0} s, loop_wait {database.LoopWait.TotalSeconds:F0} s); " +
                  "YugabyteDB re-elects each tablet's Raft leader after a leader lease of about 2 s, so the production figure is not this one"
                : "Redis Sentinel (down-after 1 s, quorum 2) standing in for DragonflyDB's";
            run.Judge(TargetVerdict.Below(name, $"{store} failover by itself ({(store == WriteStore.Postgres ? "Patroni" : "Sentinel")} elects outside {lost})",
                elected is null ? null : elected.At - faultStart, run.Environment.Targets.Failover,
                elected is null ? how : $"{elected.Node} primary; {how}", missing: "no new primary"));
        }
    }

    /// <summary>The weights as expected percentages (70/15/15).</summary>
    public static IReadOnlyDictionary<string, double> Weights(ScenarioRun run) =>
        run.Environment.Regions.ToDictionary(region => region.Name, region => (double)region.Weight, StringComparer.Ordinal);
}

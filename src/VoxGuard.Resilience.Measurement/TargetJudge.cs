using System.Globalization;
using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Measurement;

/// <summary>
/// The verdicts scenarios judge, each from observations on the scenario's clock (calls, the balancer and role
/// timelines, write accounting, lag samples) and nothing the harness set itself. Pure: every verdict can be fed a
/// timeline where it must miss, which is how its tests show it can fail.
/// </summary>
public static class TargetJudge
{
    /// <summary>The sliding window of the service-back rule: 1 s, sliding by 100 ms, ≥ 99 % answered, ≥ 10 calls per window.</summary>
    public static readonly TimeSpan RecoveryWindow = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan RecoveryStep = TimeSpan.FromMilliseconds(100);
    private const double RecoveryThreshold = 0.99;
    private const int RecoveryMinimumCalls = 10;

    /// <summary>
    /// How long the balancer took to mark <paramref name="lost"/> down after the fault, from its polled states
    /// (subject <c>balancer/&lt;region&gt;</c>).
    /// </summary>
    public static TargetVerdict Detection(IEnumerable<HealthTransition> transitions, string lost, TimeSpan faultStart, TimeSpan limit, string? detail = null)
    {
        ArgumentNullException.ThrowIfNull(transitions);
        var down = transitions.Where(transition => transition.At >= faultStart && transition.Subject == $"balancer/{lost}"
            && string.Equals(transition.State, "DOWN", StringComparison.OrdinalIgnoreCase)).Select(transition => (TimeSpan?)transition.At).Min();
        return TargetVerdict.Below(TargetKind.Failover, $"detection ({lost} marked down by the balancer)", down - faultStart, limit, detail, missing: "not detected");
    }

    /// <summary>
    /// Service back and staying back after <paramref name="faultStart"/> (the sliding-window rule of
    /// <see cref="RecoveryAnalysis"/>), against <paramref name="limit"/>: the failover target, or with
    /// <see cref="TargetKind.DisasterRecoveryTime"/> the DR RTO.
    /// </summary>
    public static (TargetVerdict Verdict, RecoveryResult Recovery) ServiceBack(TargetKind kind, string target, IReadOnlyList<CallObservation> calls, TimeSpan faultStart, TimeSpan limit)
    {
        var recovery = RecoveryAnalysis.Analyse(calls, faultStart, RecoveryWindow, RecoveryStep, RecoveryThreshold, RecoveryMinimumCalls);
        var verdict = TargetVerdict.Below(kind, target, recovery.RecoveryTime, limit,
            string.Create(CultureInfo.InvariantCulture, $"{recovery.FailedCalls} of {recovery.CallsAfterFault} calls after the fault failed; worst 1 s window {recovery.WorstWindowRatio:P1}"));
        return (verdict, recovery);
    }

    /// <summary>
    /// How long a store took to elect a primary outside <paramref name="lost"/> by itself, from its polled roles: the
    /// first node other than the lost one claiming primary after the fault.
    /// </summary>
    /// <param name="store">The store, e.g. Postgres.</param>
    /// <param name="electedBy">Who elects, e.g. Patroni, Sentinel.</param>
    /// <param name="roles">Every node's polled role.</param>
    /// <param name="lost">The region lost.</param>
    /// <param name="faultStart">When it was lost.</param>
    /// <param name="limit">The failover target.</param>
    /// <param name="how">Why this figure is what it is (whose mechanism it measures).</param>
    public static TargetVerdict StoreElection(string store, string electedBy, IEnumerable<RoleObservation> roles, string lost, TimeSpan faultStart, TimeSpan limit, string how)
    {
        ArgumentNullException.ThrowIfNull(roles);
        var elected = roles.Where(role => role.At >= faultStart && role.ClaimsPrimary && role.Node != lost).MinBy(role => role.At);
        return TargetVerdict.Below(TargetKind.Failover, $"{store} failover by itself ({electedBy} elects outside {lost})",
            elected is null ? null : elected.At - faultStart, limit, elected is null ? how : $"{elected.Node} primary; {how}", missing: "no new primary");
    }

    /// <summary>
    /// The nodes claiming primary at the end of <paramref name="roles"/>: each node's latest polled role. A node that
    /// did not answer claims nothing.
    /// </summary>
    public static IReadOnlyList<string> PrimariesNow(IEnumerable<RoleObservation> roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        return [.. roles.GroupBy(role => role.Node, StringComparer.Ordinal).Select(node => node.MaxBy(role => role.At)!)
            .Where(role => role.ClaimsPrimary).Select(role => role.Node).Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Where the primaries are, as the servers answered (each store's latest polled roles): exactly one primary per
    /// store, in a region <paramref name="expected"/> accepts. Two nodes answering as primary (the old one still
    /// writable) or none misses.
    /// </summary>
    public static TargetVerdict Primaries(TargetKind kind, string target, IReadOnlyDictionary<string, IReadOnlyList<string>> primariesByStore, Func<string, bool> expected, string required)
    {
        ArgumentNullException.ThrowIfNull(primariesByStore);
        ArgumentNullException.ThrowIfNull(expected);
        var measured = string.Join(", ", primariesByStore.Select(store => $"{store.Key.ToLowerInvariant()} {(store.Value.Count == 0 ? "none" : string.Join(" + ", store.Value))}"));
        var holds = primariesByStore.Count > 0 && primariesByStore.Values.All(primaries => primaries.Count == 1 && expected(primaries[0]));
        return TargetVerdict.Condition(kind, target, measured, required, holds,
            "observed: every node's role as it answered the poller (PostgreSQL pg_is_in_recovery(), Redis ROLE)");
    }

    /// <summary>
    /// The RPO of one store: the span of acknowledged writes missing when read back, against the target, with the
    /// lost ids (first ten) in the detail. <see cref="TargetKind.DataLoss"/> after a failover,
    /// <see cref="TargetKind.DisasterRecoveryDataLoss"/> after a restore from backups.
    /// </summary>
    public static TargetVerdict Rpo(TargetKind kind, string store, WriteAccountingResult accounting, TimeSpan limit)
    {
        ArgumentNullException.ThrowIfNull(accounting);
        var lostIds = accounting.Lost.Count == 0 ? "none" : string.Join(", ", accounting.Lost.Take(10)) + (accounting.Lost.Count > 10 ? $" … ({accounting.Lost.Count})" : string.Empty);
        return TargetVerdict.Below(kind, $"{store} RPO", accounting.Rpo, limit,
            $"{accounting.Acknowledged} acknowledged, {accounting.Lost.Count} lost: {lostIds}; {accounting.Recovered.Count} unacknowledged but present");
    }

    /// <summary>An RPO that could not be measured (no primary to read back from): what was acknowledged cannot be shown to survive.</summary>
    public static TargetVerdict RpoNotMeasurable(TargetKind kind, string store, TimeSpan limit, string why) =>
        new(string.Empty, $"{store} RPO", kind, "not measurable", "< " + TargetVerdict.Seconds(limit), false, null, limit.TotalSeconds, TargetUnit.Seconds, TargetComparison.Below, Detail: why);

    /// <summary>Acknowledged writes that must all be there (steady state, flapping, failback): any lost one misses.</summary>
    public static TargetVerdict NoneLost(TargetKind kind, string target, WriteAccountingResult accounting) =>
        TargetVerdict.Zero(kind, target, accounting.Lost.Count, $"{accounting.Acknowledged} acknowledged" + (accounting.Lost.Count == 0 ? string.Empty : ": " + string.Join(", ", accounting.Lost.Take(10))));

    /// <summary>Writes present that no engine ever attempted: a second writer (a split brain) or a harness bug.</summary>
    /// <param name="store">The store, e.g. Postgres.</param>
    /// <param name="accounting">Its write accounting.</param>
    /// <param name="kind">What an unexpected write means here: a second writer in a split brain (the default), or after a
    /// restore from backups data that was never written (<see cref="TargetKind.DisasterRecoveryIntegrity"/>).</param>
    public static TargetVerdict NoUnexpectedWrites(string store, WriteAccountingResult accounting, TargetKind kind = TargetKind.SplitBrain) =>
        TargetVerdict.Zero(kind, $"{store} unexpected writes", accounting.Unexpected.Count,
            accounting.Unexpected.Count == 0 ? null : string.Join(", ", accounting.Unexpected.Take(10)));

    /// <summary>Windows in which two nodes of a store answered as primary.</summary>
    public static TargetVerdict NoDualPrimary(string store, IReadOnlyList<DualPrimaryWindow> windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        return TargetVerdict.Zero(TargetKind.SplitBrain, $"{store} dual-primary windows", windows.Count,
            windows.Count == 0 ? "never two primaries" : string.Join("; ", windows.Select(window => string.Create(CultureInfo.InvariantCulture,
                $"{string.Join(" + ", window.Nodes)} from {window.From.TotalSeconds:F1} s for {window.Duration.TotalSeconds:F1} s"))));
    }

    /// <summary>The traffic split over [from, to) against <paramref name="expected"/> percentages, within the deviation alert.</summary>
    public static (TargetVerdict Verdict, DistributionWindow Window) Split(string target, IReadOnlyList<CallObservation> calls, IReadOnlyDictionary<string, double> expected,
        TimeSpan from, TimeSpan to, double alertPercent)
    {
        var distribution = DistributionAnalysis.Measure(calls, expected, from, to);
        var verdict = TargetVerdict.AtMost(TargetKind.Distribution, target, distribution.MaxRelativeDeviation, alertPercent,
            string.Join(", ", distribution.Shares.Select(share => string.Create(CultureInfo.InvariantCulture, $"{share.Key} {share.Value:F1} %"))) + $" of {distribution.Answered} answered");
        return (verdict, distribution);
    }

    /// <summary>A replica's 99th-percentile lag over the scenario against the lag target.</summary>
    public static TargetVerdict LagP99(LagSummary lag, TimeSpan limit)
    {
        ArgumentNullException.ThrowIfNull(lag);
        return TargetVerdict.Below(TargetKind.ReplicationLag, $"replication lag p99 {lag.Replica}", lag.P99, limit,
            string.Create(CultureInfo.InvariantCulture, $"{lag.Samples} samples, max {lag.Max.TotalMilliseconds:F0} ms"));
    }

    /// <summary>How long after <paramref name="from"/> every replica's lag was back under <paramref name="threshold"/>.</summary>
    public static TargetVerdict LagBackUnder(string target, IEnumerable<LagSample> samples, TimeSpan threshold, TimeSpan from, TimeSpan limit, string? detail = null) =>
        TargetVerdict.Below(TargetKind.ReplicationLag, target, LagAnalysis.ReturnedUnder(samples, threshold, from) - from, limit, detail, missing: "never back under");

    /// <summary>The share of calls answered.</summary>
    public static TargetVerdict CallSuccess(IReadOnlyCollection<CallObservation> calls, double minimumPercent)
    {
        ArgumentNullException.ThrowIfNull(calls);
        var success = calls.Count == 0 ? 0 : 100.0 * calls.Count(call => call.Succeeded) / calls.Count;
        return TargetVerdict.AtLeast(TargetKind.Availability, "call success", success, minimumPercent, $"{calls.Count} calls");
    }

    /// <summary>
    /// The guide's step 4 after a restore: the repository's checksums verified, no structural damage in the restored
    /// table, no write twice. The row count and checksum are the measured fingerprint.
    /// </summary>
    public static TargetVerdict Integrity(RestoreIntegrity integrity)
    {
        ArgumentNullException.ThrowIfNull(integrity);
        var problems = new List<string>();
        if (!integrity.RepositoryVerified)
        {
            problems.Add($"{integrity.Repository} failed pgBackRest verify" + (integrity.InvalidBackups.Count > 0 ? $" (invalid: {string.Join(", ", integrity.InvalidBackups)})" : string.Empty));
        }

        problems.AddRange(integrity.StructureProblems.Select(problem => "amcheck: " + problem));
        if (integrity.Rows != integrity.DistinctIds)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{integrity.Rows - integrity.DistinctIds} rows repeat an id"));
        }

        var measured = string.Create(CultureInfo.InvariantCulture, $"{integrity.Rows} rows, md5 {integrity.Checksum[..Math.Min(12, integrity.Checksum.Length)]}…; ")
            + (problems.Count == 0 ? $"{integrity.Repository} verified, amcheck clean" : $"{problems.Count} problem(s)");
        return TargetVerdict.Condition(TargetKind.DisasterRecoveryIntegrity, $"integrity after the restore from {integrity.Repository} (checksums, structure, row count)",
            measured, "repository checksums valid, heap and indexes sound, each write once", problems.Count == 0,
            problems.Count == 0 ? $"md5 of the ids {integrity.Checksum}" : string.Join("; ", problems));
    }

    /// <summary>
    /// The retention the repositories run with against the guide's. Evidence from configuration, not from time passing:
    /// the online days are read from each repository's pgBackRest settings; the archived years are what the
    /// environment declares (the miniature has no cold tier to age backups into).
    /// </summary>
    /// <param name="onlineDaysByRepository">Each repository's <c>repo-retention-full</c> in days (time-based retention).</param>
    /// <param name="archivedYears">The years the environment declares for cold storage.</param>
    /// <param name="requiredOnlineDays">The guide's online days (30).</param>
    /// <param name="requiredArchivedYears">The guide's archived years (7).</param>
    public static TargetVerdict Retention(IReadOnlyDictionary<string, int> onlineDaysByRepository, int archivedYears, int requiredOnlineDays, int requiredArchivedYears)
    {
        ArgumentNullException.ThrowIfNull(onlineDaysByRepository);
        var online = onlineDaysByRepository.Count == 0
            ? "no repository"
            : string.Join(", ", onlineDaysByRepository.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => string.Create(CultureInfo.InvariantCulture, $"{pair.Key} {pair.Value} d")));
        var holds = onlineDaysByRepository.Count > 0 && onlineDaysByRepository.Values.All(days => days >= requiredOnlineDays) && archivedYears >= requiredArchivedYears;
        return TargetVerdict.Condition(TargetKind.Retention, "backup retention as configured (online, archived)",
            string.Create(CultureInfo.InvariantCulture, $"online {online}; archived {archivedYears} y"),
            string.Create(CultureInfo.InvariantCulture, $"online ≥ {requiredOnlineDays} d in every repository, archived ≥ {requiredArchivedYears} y"), holds,
            "online days read from the repositories' pgBackRest settings (repo-retention-full, time-based); archived years as the environment declares them — the miniature has no cold tier to age backups into");
    }
}

using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Reporting.Compliance;

/// <summary>
/// How the report words each <see cref="TargetKind"/>: the headline a miss starts with (the Allure categories match
/// on it), its label in tables, and the order misses are shown in. Decided by the verdict's kind, never its wording,
/// so renaming a target changes neither its category nor its compliance mapping.
/// </summary>
public static class TargetKinds
{
    /// <summary>The headline of a broken test (the harness or its servers failed, not the system under test).</summary>
    public const string HarnessErrorHeadline = "Harness/infrastructure error";

    private static readonly TargetKind[] SeverityOrder =
    [
        TargetKind.SplitBrain,
        TargetKind.DisasterRecoveryDataLoss,
        TargetKind.DisasterRecoveryIntegrity,
        TargetKind.DataLoss,
        TargetKind.DisasterRecoveryTime,
        TargetKind.Failover,
        TargetKind.Failback,
        TargetKind.Availability,
        TargetKind.Distribution,
        TargetKind.ReplicationLag,
        TargetKind.Retention,
        TargetKind.Unclassified,
    ];

    /// <summary>Every kind, most serious first (the order categories and chart titles use).</summary>
    public static IReadOnlyList<TargetKind> BySeverity => SeverityOrder;

    /// <summary>Whether a kind is about recovery from backups with every region down (DR RTO, DR RPO, DR integrity).</summary>
    public static bool IsDisasterRecovery(TargetKind kind) =>
        kind is TargetKind.DisasterRecoveryTime or TargetKind.DisasterRecoveryDataLoss or TargetKind.DisasterRecoveryIntegrity;

    /// <summary>A kind's place in <see cref="BySeverity"/> (0 is the most serious).</summary>
    public static int SeverityRank(TargetKind kind) => Array.IndexOf(SeverityOrder, kind);

    /// <summary>The headline a miss of this kind starts with ("Failover target exceeded"); the Allure categories match on it.</summary>
    public static string MissHeadline(TargetKind kind) => kind switch
    {
        TargetKind.Failover => "Failover target missed",
        TargetKind.Failback => "Failback target missed",
        TargetKind.DisasterRecoveryTime => "DR RTO exceeded",
        TargetKind.DisasterRecoveryDataLoss => "DR RPO exceeded",
        TargetKind.DisasterRecoveryIntegrity => "DR integrity check failed",
        TargetKind.Retention => "Retention below the guide",
        TargetKind.DataLoss => "RPO exceeded",
        TargetKind.SplitBrain => "Split-brain data loss",
        TargetKind.Distribution => "Distribution deviation",
        TargetKind.ReplicationLag => "Replication lag above target",
        TargetKind.Availability => "Availability below target",
        _ => "Target missed",
    };

    /// <summary>A short label for tables ("failover", "DR RTO").</summary>
    public static string Label(TargetKind kind) => kind switch
    {
        TargetKind.Failover => "failover",
        TargetKind.Failback => "failback",
        TargetKind.DisasterRecoveryTime => "DR RTO",
        TargetKind.DisasterRecoveryDataLoss => "DR RPO",
        TargetKind.DisasterRecoveryIntegrity => "DR integrity",
        TargetKind.Retention => "retention",
        TargetKind.DataLoss => "RPO",
        TargetKind.SplitBrain => "split brain",
        TargetKind.Distribution => "distribution",
        TargetKind.ReplicationLag => "lag",
        TargetKind.Availability => "availability",
        _ => "unclassified",
    };

    /// <summary>One line for a missed verdict: "Failover target missed: failover (…): measured 42.00 s, required &lt; 30 s".</summary>
    public static string MissLine(TargetVerdict verdict)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        return $"{MissHeadline(verdict.Kind)}: {verdict.Target}: measured {verdict.Measured}, required {verdict.Required}"
            + (string.IsNullOrWhiteSpace(verdict.Detail) ? string.Empty : $" ({verdict.Detail})");
    }
}

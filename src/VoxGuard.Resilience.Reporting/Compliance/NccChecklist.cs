using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Reporting.Compliance;

/// <summary>One NCC requirement of the deployment guide's compliance checklist.</summary>
/// <param name="Id">A stable short id, e.g. disaster-recovery.</param>
/// <param name="Requirement">The checklist's wording.</param>
/// <param name="EvidencedBy">The kinds of target whose verdicts are evidence for it (none: a drill cannot show it).</param>
public sealed record NccItem(string Id, string Requirement, IReadOnlyList<TargetKind> EvidencedBy);

/// <summary>
/// The NCC requirements of the multi-region deployment guide's compliance checklist, and which drill targets are
/// evidence for each. A drill evidences availability, disaster recovery and (from configuration) retention; the other items
/// (residency, audit trail, encryption, ATRS) are listed as not evidenced rather than left out, so a reader sees the gap.
/// </summary>
public static class NccChecklist
{
    /// <summary>Every item, in the guide's order.</summary>
    public static IReadOnlyList<NccItem> Items { get; } =
    [
        new("data-residency", "Data residency: All Nigerian call data stored in Nigerian data centers", []),
        // Evidence from configuration: the retention the repositories run with (the miniature has no cold tier to age).
        new("retention-7y", "7-year retention: Backups archived for 7 years", [TargetKind.Retention]),
        new("audit-trail", "Audit trail: All configuration changes logged", []),
        new("encryption-tls13", "Encryption: TLS 1.3 for all inter-region communication", []),
        // Failover scenarios test high availability (a region lost, the others take over with their data); only a
        // recovery from backups with every region down is evidence for disaster recovery.
        new("high-availability", "High availability: 99.99% uptime SLA met",
            [TargetKind.Failover, TargetKind.Failback, TargetKind.DataLoss, TargetKind.SplitBrain, TargetKind.ReplicationLag, TargetKind.Availability, TargetKind.Distribution]),
        new("disaster-recovery", "Disaster recovery: RPO <1 minute, RTO <15 minutes",
            [TargetKind.DisasterRecoveryTime, TargetKind.DisasterRecoveryDataLoss, TargetKind.DisasterRecoveryIntegrity]),
        new("atrs-reporting", "ATRS reporting: Automated daily reports from all regions", []),
    ];

    /// <summary>The ids of the items a target of this kind evidences.</summary>
    public static IReadOnlyList<string> ItemsEvidencedBy(TargetKind kind) =>
        [.. Items.Where(item => item.EvidencedBy.Contains(kind)).Select(item => item.Id)];
}

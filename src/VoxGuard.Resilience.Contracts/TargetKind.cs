namespace VoxGuard.Resilience.Contracts;

/// <summary>
/// What a documented target is about. Set by the code that judges it (never guessed from the target's wording), it
/// decides the headline of a miss, its Allure category and the NCC checklist items the verdict is evidence for.
/// </summary>
public enum TargetKind
{
    /// <summary>Written by a harness that did not record kinds; reported as "Target missed" and evidence for nothing.</summary>
    Unclassified,

    /// <summary>High availability: detection, service back after a region is lost, the stores electing new primaries, where the primaries end up.</summary>
    Failover,

    /// <summary>The documented failback: rejoin, catch up, switch the primaries and the weights back.</summary>
    Failback,

    /// <summary>Recovery from backups with every region down: time from the loss until service is back (the DR RTO, &lt; 15 min).</summary>
    DisasterRecoveryTime,

    /// <summary>Acknowledged writes missing after a restore from backups (the DR RPO, &lt; 1 min).</summary>
    DisasterRecoveryDataLoss,

    /// <summary>Acknowledged writes lost in a failover (RPO), or writes that must survive a failback or flapping.</summary>
    DataLoss,

    /// <summary>Two primaries: writes lost to a partition, writes that were never acknowledged, dual-primary windows.</summary>
    SplitBrain,

    /// <summary>The traffic split over the regions (70/15/15, 50/50 after Lagos's loss).</summary>
    Distribution,

    /// <summary>Replication lag: under its target, following an injected delay, the alert condition seen.</summary>
    ReplicationLag,

    /// <summary>Calls answered.</summary>
    Availability,

    /// <summary>
    /// The guide's step 4 after a restore from backups: the repository's checksums verified, the restored database's
    /// structure checked, its row count and checksum recorded.
    /// </summary>
    DisasterRecoveryIntegrity,

    /// <summary>How long backups are kept, as configured, against the guide (30 days online, 7 years archived).</summary>
    Retention,
}

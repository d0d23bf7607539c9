namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>The documented figures a run is judged against.</summary>
/// <param name="Failover">Service restored after a region loss within this (guide: &lt; 30 s).</param>
/// <param name="Rpo">Recovery point objective (guide: &lt; 1 min).</param>
/// <param name="Rto">Recovery time objective (guide: &lt; 15 min).</param>
/// <param name="TrafficSplitAfterPrimaryLoss">Percent per surviving region once the primary is gone (Abuja/Asaba 50/50).</param>
/// <param name="DistributionDeviationAlertPercent">Alert when a region's share deviates from its weight by more than this (20 %).</param>
public sealed record Targets(
    TimeSpan Failover,
    TimeSpan Rpo,
    TimeSpan Rto,
    IReadOnlyDictionary<string, double> TrafficSplitAfterPrimaryLoss,
    double DistributionDeviationAlertPercent);

/// <summary>Replication lag figures (guide: target &lt; 100 ms, alert &gt; 500 ms).</summary>
public sealed record ReplicationDefinition(TimeSpan LagTarget, TimeSpan LagAlert);

/// <summary>
/// The geo-redundancy guide's failback: optionally return traffic to the recovered higher-priority region after
/// <see cref="Delay"/>, once its health score reaches <see cref="HealthThreshold"/> (0–1, e.g. 0.95).
/// </summary>
public sealed record FailbackDefinition(bool Enabled, TimeSpan Delay, double HealthThreshold);

/// <summary>The named profile applied to an environment (e.g. documented, ci).</summary>
public sealed record ProfileDefinition(string Name, string Description);

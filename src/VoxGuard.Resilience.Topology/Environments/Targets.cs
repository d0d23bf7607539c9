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

/// <summary>When a PostgreSQL commit is acknowledged.</summary>
public enum CommitRule
{
    /// <summary>On the primary's own flush (PostgreSQL's default): a failover can lose what the standbys had not received.</summary>
    Async,

    /// <summary>
    /// Once every standby it can reach, in the other regions, has it too — at least one (Patroni <c>synchronous_mode</c>,
    /// strict, every standby synchronous): with three regions always a majority, the guarantee YugabyteDB's Raft gives.
    /// A primary that cannot reach a standby acknowledges nothing; after its loss the most advanced standby is promoted.
    /// </summary>
    Majority,
}

/// <summary>
/// The database stand-in's orchestration: the commit rule, and Patroni's timings (the leader key's time to live, the
/// loop period, how long a DCS or PostgreSQL call may be retried) and how far behind a standby may be and still be
/// promoted. Patroni's own defaults when the file has no <c>database</c> section.
/// </summary>
public sealed record DatabaseDefinition(CommitRule Commit, TimeSpan Ttl, TimeSpan LoopWait, TimeSpan RetryTimeout, int MaximumLagOnFailoverBytes)
{
    /// <summary>Patroni's defaults: ttl 30 s, loop_wait 10 s, retry_timeout 10 s, maximum_lag_on_failover 1 MiB; async commits.</summary>
    public static DatabaseDefinition PatroniDefaults { get; } =
        new(CommitRule.Async, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), 1_048_576);

    /// <summary>
    /// About the longest Patroni's own rules let a failover after the primary's loss take: the leader key lives for ttl
    /// after its last renewal, a survivor notices at its next loop, and when etcd's own leader was lost too the new
    /// etcd leader first extends every lease (up to a retry_timeout more). Measured with the ci timings: 19.5–23 s
    /// (docs/measured-facts.md, "Patroni failover time").
    /// </summary>
    public TimeSpan WorstFailover => Ttl + LoopWait + RetryTimeout;
}

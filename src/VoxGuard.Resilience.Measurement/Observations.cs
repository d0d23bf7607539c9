namespace VoxGuard.Resilience.Measurement;

/// <summary>
/// One SIP call as the load generator saw it. Times are offsets from the scenario's start on its one monotonic
/// clock.
/// </summary>
/// <param name="Start">When the INVITE was sent.</param>
/// <param name="End">When the call ended (answered and hung up, refused, or timed out).</param>
/// <param name="Succeeded">Answered with 200 and completed.</param>
/// <param name="Region">The region that served it (from the region header), or null when none answered.</param>
public sealed record CallObservation(TimeSpan Start, TimeSpan End, bool Succeeded, string? Region);

/// <summary>One write the engines attempted, and when it was acknowledged if it was.</summary>
/// <param name="Id">Its unique id.</param>
/// <param name="Acknowledged">When the store acknowledged it, or null when it never was.</param>
public sealed record WriteObservation(string Id, TimeSpan? Acknowledged);

/// <summary>One replication-lag sample of one replica.</summary>
/// <param name="At">When it was taken.</param>
/// <param name="Replica">The replica (region name, optionally with the store: "abuja/postgres").</param>
/// <param name="Lag">How far the replica trailed its primary.</param>
public sealed record LagSample(TimeSpan At, string Replica, TimeSpan Lag);

/// <summary>A node's role as polled: whether it claimed to be the primary (accepting writes) at that moment.</summary>
/// <param name="At">When it was observed.</param>
/// <param name="Node">The node, e.g. "lagos".</param>
/// <param name="ClaimsPrimary">True when it answered as primary / master.</param>
public sealed record RoleObservation(TimeSpan At, string Node, bool ClaimsPrimary);

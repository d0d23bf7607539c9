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

/// <summary>
/// What the guide's step 4 checks after a restore from backups: the repository's own checksums (pgBackRest
/// <c>verify</c>), the restored table's structure (PostgreSQL's <c>amcheck</c>: heap and every index), and its row
/// count and checksum.
/// </summary>
/// <param name="Repository">The repository restored from, e.g. repo1.</param>
/// <param name="InvalidBackups">Backups pgBackRest's verify found damaged (empty: every file matches its checksum).</param>
/// <param name="RepositoryVerified">Whether the verify ran clean.</param>
/// <param name="StructureProblems">What amcheck reported on the restored table (empty: nothing).</param>
/// <param name="Rows">The restored table's row count.</param>
/// <param name="DistinctIds">How many distinct write ids it holds (equal to <paramref name="Rows"/> when no write is doubled).</param>
/// <param name="Checksum">md5 of the ids in byte order, one per line, as PostgreSQL computes it: the fingerprint an auditor compares.</param>
public sealed record RestoreIntegrity(string Repository, bool RepositoryVerified, IReadOnlyList<string> InvalidBackups,
    IReadOnlyList<string> StructureProblems, long Rows, long DistinctIds, string Checksum);

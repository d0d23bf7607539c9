namespace VoxGuard.Resilience.Measurement;

/// <summary>What <see cref="WriteAccounting.Account"/> found for one store.</summary>
/// <param name="Acknowledged">Writes the store acknowledged.</param>
/// <param name="Lost">Acknowledged but not read back: data loss.</param>
/// <param name="Unexpected">Read back but never attempted: should never happen (a harness or store bug).</param>
/// <param name="Recovered">Read back although never acknowledged (the ack was lost, not the write).</param>
/// <param name="Rpo">The span of acknowledged time that was lost: from the earliest acknowledgement among lost writes to
/// the fault's start — or to the latest lost acknowledgement when that came later (writes lost in a failover or a split
/// brain after the fault began). Zero when nothing was lost.</param>
/// <param name="LostAcknowledgedFrom">The earliest acknowledgement among lost writes, or null.</param>
/// <param name="LostAcknowledgedUntil">The latest acknowledgement among lost writes, or null.</param>
public sealed record WriteAccountingResult(
    int Acknowledged,
    IReadOnlyList<string> Lost,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<string> Recovered,
    TimeSpan Rpo,
    TimeSpan? LostAcknowledgedFrom,
    TimeSpan? LostAcknowledgedUntil);

/// <summary>
/// RPO Jepsen-style: every write has a unique id and, if it was acknowledged, its ack time; after healing everything
/// is read back from the surviving primary. lost = acknowledged − read; unexpected = read − attempted;
/// recovered = read ∩ (attempted − acknowledged); RPO = fault start − earliest ack among lost writes, stretched to the
/// latest lost ack when writes acknowledged after the fault began were lost too (a clamp to zero would hide them).
/// </summary>
public static class WriteAccounting
{
    /// <summary>Accounts for every write of one store.</summary>
    public static WriteAccountingResult Account(IReadOnlyCollection<WriteObservation> attempted, IReadOnlyCollection<string> readBack, TimeSpan faultStart)
    {
        ArgumentNullException.ThrowIfNull(attempted);
        ArgumentNullException.ThrowIfNull(readBack);
        var read = readBack.ToHashSet(StringComparer.Ordinal);
        var byId = new Dictionary<string, WriteObservation>(StringComparer.Ordinal);
        foreach (var write in attempted)
        {
            // The same id logged twice (attempt, then ack) counts once, acknowledged if either says so.
            byId[write.Id] = byId.TryGetValue(write.Id, out var known) && known.Acknowledged is not null ? known : write;
        }

        var acknowledged = byId.Values.Where(write => write.Acknowledged is not null).ToList();
        var lost = acknowledged.Where(write => !read.Contains(write.Id)).OrderBy(write => write.Acknowledged).ToList();
        var unexpected = read.Where(id => !byId.ContainsKey(id)).Order(StringComparer.Ordinal).ToList();
        var recovered = byId.Values.Where(write => write.Acknowledged is null && read.Contains(write.Id)).Select(write => write.Id).Order(StringComparer.Ordinal).ToList();
        var earliest = lost.Count == 0 ? (TimeSpan?)null : lost[0].Acknowledged;
        var rpo = earliest is { } first ? (lost[^1].Acknowledged!.Value > faultStart ? lost[^1].Acknowledged!.Value : faultStart) - first : TimeSpan.Zero;
        return new WriteAccountingResult(acknowledged.Count, [.. lost.Select(write => write.Id)], unexpected, recovered, rpo, earliest, lost.Count == 0 ? null : lost[^1].Acknowledged);
    }
}

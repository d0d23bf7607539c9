using System.Diagnostics;

namespace VoxGuard.Resilience.Topology;

/// <summary>
/// What an operation on the running topology did, with the moment it began and the moment the promised state was
/// verified (both <see cref="Stopwatch.GetTimestamp"/> values, the clock every measurement of a run shares).
/// </summary>
/// <param name="What">One line a person reads in a timeline, e.g. "promote abuja's PostgreSQL".</param>
/// <param name="StartedAt">When the operation began.</param>
/// <param name="VerifiedAt">When the promised state was observed.</param>
public sealed record TopologyOperation(string What, long StartedAt, long VerifiedAt)
{
    /// <summary>How long the operation took until its state was verified.</summary>
    public TimeSpan Duration => Stopwatch.GetElapsedTime(StartedAt, VerifiedAt);

    /// <summary>Records an operation that began at <paramref name="startedAt"/> and is verified now.</summary>
    public static TopologyOperation Since(string what, long startedAt) => new(what, startedAt, Stopwatch.GetTimestamp());

    /// <inheritdoc/>
    public override string ToString() => $"{What} ({Duration.TotalMilliseconds:F0} ms)";
}

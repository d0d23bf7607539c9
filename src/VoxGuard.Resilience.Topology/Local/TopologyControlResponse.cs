using System.Diagnostics;

namespace VoxGuard.Resilience.Topology.Local;

/// <summary>One operation the server performed: what, and when it started and was verified (wall clock).</summary>
/// <param name="What">What was done, as <see cref="TopologyOperation.What"/> says it.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="VerifiedAt">When its state was verified.</param>
/// <param name="DurationMs">Verified − started, in milliseconds, on the monotonic clock.</param>
public sealed record OperationReport(string What, DateTimeOffset StartedAt, DateTimeOffset VerifiedAt, double DurationMs)
{
    /// <summary>Places an operation's Stopwatch timestamps on the wall clock (<paramref name="now"/> ↔ the timestamp now).</summary>
    public static OperationReport From(TopologyOperation operation, DateTimeOffset now, long nowTimestamp)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return new OperationReport(operation.What,
            now - Stopwatch.GetElapsedTime(operation.StartedAt, nowTimestamp),
            now - Stopwatch.GetElapsedTime(operation.VerifiedAt, nowTimestamp),
            operation.Duration.TotalMilliseconds);
    }
}

/// <summary>
/// The control channel's answer: what was done, or one error saying why nothing (or not everything) was done.
/// </summary>
/// <param name="Ok">True when the request was carried out and verified.</param>
/// <param name="Error">Why not, when <paramref name="Ok"/> is false: one message naming the problem and the fix.</param>
/// <param name="Operations">Every operation performed, in order (empty when the request was refused).</param>
/// <param name="Notes">What the operator should know besides (e.g. healing a region that was not isolated).</param>
public sealed record TopologyControlResponse(bool Ok, string? Error, IReadOnlyList<OperationReport> Operations, IReadOnlyList<string> Notes)
{
    /// <summary>A request carried out.</summary>
    public static TopologyControlResponse Done(IReadOnlyList<OperationReport> operations, IReadOnlyList<string>? notes = null) => new(true, null, operations, notes ?? []);

    /// <summary>A request refused or failed.</summary>
    public static TopologyControlResponse Failed(string error, IReadOnlyList<OperationReport>? operations = null) => new(false, error, operations ?? [], []);
}

/// <summary>A control request could not be delivered or was refused; the message says why and what to do.</summary>
public sealed class TopologyControlException(string message, Exception? innerException = null) : Exception(message, innerException);

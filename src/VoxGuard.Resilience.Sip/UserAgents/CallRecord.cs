using System.Net;
using VoxGuard.Resilience.Sip.Transports;

namespace VoxGuard.Resilience.Sip.UserAgents;

/// <summary>How a call ended.</summary>
public enum CallOutcome
{
    /// <summary>Answered (2xx), held, hung up with a BYE answered 2xx.</summary>
    Completed,

    /// <summary>A 3xx–6xx final response to the INVITE (see <see cref="CallRecord.StatusCode"/>).</summary>
    Rejected,

    /// <summary>No final response: Timer B (no response at all within 64·T1) or the answer timeout after a provisional.</summary>
    Timeout,

    /// <summary>The connection was refused, reset or closed, or a send failed.</summary>
    TransportError,

    /// <summary>Cancelled by the caller before an answer (CANCEL, 487, ACK), or hung up early.</summary>
    Cancelled,

    /// <summary>Answered, but the BYE failed (timeout, error response or transport error).</summary>
    ByeFailed,
}

/// <summary>
/// One call as the UAC saw it. Timestamps are from the UAC's <see cref="TimeProvider.GetTimestamp"/> (the Stopwatch by
/// default: one monotonic clock for every call); convert with <see cref="Elapsed"/>.
/// </summary>
public sealed record CallRecord
{
    /// <summary>The Call-ID.</summary>
    public required string CallId { get; init; }

    /// <summary>Where the INVITE went.</summary>
    public required IPEndPoint Target { get; init; }

    /// <summary>UDP or TCP.</summary>
    public required SipTransportKind Transport { get; init; }

    /// <summary>The local endpoint the call used (its TCP connection's source), or null when it never got one.</summary>
    public IPEndPoint? LocalEndPoint { get; init; }

    /// <summary>When the call was started (before connecting, for TCP).</summary>
    public required long StartedAt { get; init; }

    /// <summary>
    /// When the INVITE was handed to its transport, or null when it never was. After <see cref="StartedAt"/> by the TCP
    /// connect (through the balancer) and whatever the generating process itself was late: both count in the setup
    /// time, and this shows how much they were.
    /// </summary>
    public long? InviteSentAt { get; init; }

    /// <summary>When the first provisional response (100, 180…) arrived, or null.</summary>
    public long? FirstProvisionalAt { get; init; }

    /// <summary>When the 2xx arrived, or null.</summary>
    public long? AnsweredAt { get; init; }

    /// <summary>
    /// When the 2xx was read from the transport (stamped on the receiving thread, as the first provisional is), or null.
    /// <see cref="AnsweredAt"/> is later by the time this process took to resume the call: its own delay, counted in
    /// the setup time as it always was.
    /// </summary>
    public long? AnswerReadAt { get; init; }

    /// <summary>When the call ended (BYE answered, final failure, timeout).</summary>
    public required long EndedAt { get; init; }

    /// <summary>Ticks per second of the timestamps.</summary>
    public required long TimestampFrequency { get; init; }

    /// <summary>The final status of the INVITE, or null when none came.</summary>
    public int? StatusCode { get; init; }

    /// <summary>The final status of the BYE, or null when none was sent or none came.</summary>
    public int? ByeStatusCode { get; init; }

    /// <summary>How it ended.</summary>
    public required CallOutcome Outcome { get; init; }

    /// <summary>Why it failed (null when completed): the status line, the timer that fired, the transport error.</summary>
    public string? FailureReason { get; init; }

    /// <summary>The serving region from the X-VoxGuard-Region header of the 2xx (or of any response), or null.</summary>
    public string? Region { get; init; }

    /// <summary>
    /// Requests of this call sent again by their transaction's timer (the INVITE by Timer A, the BYE by Timer E): over
    /// UDP each one is a request or its answer lost, or an answer later than T1. Always 0 over TCP.
    /// </summary>
    public int Retransmissions { get; init; }

    /// <summary>True when the call completed.</summary>
    public bool Succeeded => Outcome == CallOutcome.Completed;

    /// <summary>Start to first provisional response.</summary>
    public TimeSpan? TimeToFirstProvisional => FirstProvisionalAt is { } at ? Elapsed(StartedAt, at) : null;

    /// <summary>Start to the INVITE handed to its transport (connect, and the generator's own delay).</summary>
    public TimeSpan? TimeToInviteSent => InviteSentAt is { } at ? Elapsed(StartedAt, at) : null;

    /// <summary>2xx read to the call resuming on it (<see cref="AnsweredAt"/>): the generator's own delay.</summary>
    public TimeSpan? AnswerResumeDelay => AnswerReadAt is { } read && AnsweredAt is { } answered ? Elapsed(read, answered) : null;

    /// <summary>Start to answer (post-dial delay up to the 2xx).</summary>
    public TimeSpan? TimeToAnswer => AnsweredAt is { } at ? Elapsed(StartedAt, at) : null;

    /// <summary>Start to end.</summary>
    public TimeSpan Duration => Elapsed(StartedAt, EndedAt);

    /// <summary>The time between two timestamps of this record.</summary>
    public TimeSpan Elapsed(long from, long to) => TimeSpan.FromSeconds((double)(to - from) / TimestampFrequency);
}

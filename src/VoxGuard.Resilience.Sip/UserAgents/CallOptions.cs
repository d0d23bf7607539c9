using System.Net;
using VoxGuard.Resilience.Sip.Transports;

namespace VoxGuard.Resilience.Sip.UserAgents;

/// <summary>How to place one call. Defaults: UDP, no hold, SDP offer, 32 s to answer after ringing.</summary>
public sealed record CallOptions
{
    /// <summary>The default options.</summary>
    public static CallOptions Default { get; } = new();

    /// <summary>How long to stay in the call between the ACK and the BYE (default zero).</summary>
    public TimeSpan HoldTime { get; init; } = TimeSpan.Zero;

    /// <summary>UDP (the UAC's shared socket) or TCP (a connection of its own for this call).</summary>
    public SipTransportKind Transport { get; init; } = SipTransportKind.Udp;

    /// <summary>
    /// The source address (127.0.0.0/8). TCP: the connection binds it (ephemeral port), so a balancer hashing on source
    /// sees a distinct client. UDP: a socket of the call's own is bound to it when it differs from the shared one's.
    /// Null: for TCP 127.0.0.1 (towards a containers region's network, the route's address); for UDP the shared socket.
    /// </summary>
    public IPAddress? LocalAddress { get; init; }

    /// <summary>The user part of the Request-URI and To (default "engine").</summary>
    public string ToUser { get; init; } = "engine";

    /// <summary>The user part of From and Contact (default "caller").</summary>
    public string FromUser { get; init; } = "caller";

    /// <summary>Extra headers for the INVITE (e.g. a test id).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>Offer a tiny SDP (default true).</summary>
    public bool IncludeSdp { get; init; } = true;

    /// <summary>After a provisional response, how long to wait for the final one before cancelling (default 32 s; Timer B covers the time before it).</summary>
    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromSeconds(32);

    /// <summary>
    /// TCP: keep the call's connection open this long after the call ended (closing in the background; the record does
    /// not wait). Default zero. SIPp's built-in UAS counts a close during its 4 s timewait as a failed call.
    /// </summary>
    public TimeSpan TcpCloseDelay { get; init; } = TimeSpan.Zero;
}

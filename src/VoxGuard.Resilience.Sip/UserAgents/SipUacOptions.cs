using System.Net;
using VoxGuard.Resilience.Sip.Messages;
using VoxGuard.Resilience.Sip.Transactions;

namespace VoxGuard.Resilience.Sip.UserAgents;

/// <summary>The UAC's settings. Defaults: a UDP socket on 127.0.0.1 with a free port, RFC timers (T1 500 ms).</summary>
public sealed record SipUacOptions
{
    /// <summary>The shared UDP socket's endpoint (every UDP call and OPTIONS goes through it unless a call names another source).</summary>
    public IPEndPoint UdpEndPoint { get; init; } = new(IPAddress.Loopback, 0);

    /// <summary>Timers and clock.</summary>
    public SipTransactionOptions Transactions { get; init; } = new();

    /// <summary>The User-Agent header.</summary>
    public string UserAgent { get; init; } = "VoxGuard.Resilience";

    /// <summary>Parser limits for what the UAC receives.</summary>
    public SipParserLimits ParserLimits { get; init; } = SipParserLimits.Default;
}

/// <summary>The outcome of an OPTIONS ping: a status code, or why there is none; and the region header when present.</summary>
public sealed record SipOptionsResult(int? StatusCode, SipClientFailure Failure, string? Error, string? Region, TimeSpan Elapsed)
{
    /// <summary>True for a 2xx.</summary>
    public bool Succeeded => StatusCode is >= 200 and < 300;
}

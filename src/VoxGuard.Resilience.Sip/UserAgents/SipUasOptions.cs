using System.Net;
using VoxGuard.Resilience.Sip.Messages;
using VoxGuard.Resilience.Sip.Transactions;
using VoxGuard.Resilience.Sip.Transports;

namespace VoxGuard.Resilience.Sip.UserAgents;

/// <summary>An INVITE the UAS received, handed to the <see cref="SipUasOptions.OnInvite"/> hook.</summary>
public sealed class IncomingCall
{
    internal IncomingCall(SipRequest request, SipChannel channel, long receivedAt)
    {
        Request = request;
        Channel = channel;
        ReceivedAt = receivedAt;
    }

    /// <summary>The INVITE as received.</summary>
    public SipRequest Request { get; }

    /// <summary>The Call-ID.</summary>
    public string CallId => Request.CallId;

    /// <summary>The From header's URI (the caller).</summary>
    public string? FromUri => Request.From?.Uri;

    /// <summary>The To header's URI (the callee).</summary>
    public string? ToUri => Request.To?.Uri;

    /// <summary>UDP or TCP.</summary>
    public SipTransportKind Transport => Channel.Kind;

    /// <summary>Who sent it (the proxy, or the caller itself).</summary>
    public IPEndPoint RemoteEndPoint => Channel.RemoteEndPoint;

    /// <summary>When it arrived (the UAS clock's timestamp).</summary>
    public long ReceivedAt { get; }

    internal SipChannel Channel { get; }
}

/// <summary>What to answer an INVITE: a final status (2xx answers, anything else rejects) and extra headers.</summary>
public sealed record CallDecision(int StatusCode, string? ReasonPhrase = null, IReadOnlyList<KeyValuePair<string, string>>? Headers = null)
{
    /// <summary>200 OK.</summary>
    public static CallDecision Answer { get; } = new(SipStatus.Ok);

    /// <summary>A rejection with <paramref name="statusCode"/> (e.g. 403 for fraud, 503 when the data path is down).</summary>
    public static CallDecision Reject(int statusCode, string? reasonPhrase = null) => new(statusCode, reasonPhrase);
}

/// <summary>The UAS's settings. At least one of <see cref="UdpEndPoint"/> and <see cref="TcpEndPoint"/> is required.</summary>
public sealed record SipUasOptions
{
    /// <summary>Where to listen on UDP (port 0: a free port), or null for no UDP.</summary>
    public IPEndPoint? UdpEndPoint { get; init; }

    /// <summary>Where to listen on TCP (port 0: a free port), or null for no TCP.</summary>
    public IPEndPoint? TcpEndPoint { get; init; }

    /// <summary>Headers added to every response but the 100 (e.g. X-VoxGuard-Region: lagos).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ResponseHeaders { get; init; } = [];

    /// <summary>Send 180 Ringing before the hook runs (default true).</summary>
    public bool SendRinging { get; init; } = true;

    /// <summary>Put a tiny SDP answer in the 200 (default true).</summary>
    public bool IncludeSdp { get; init; } = true;

    /// <summary>
    /// Called for every INVITE after the 180 (or 100), before the final response; its decision is the final status.
    /// The token is cancelled when a CANCEL ended the call (the 487 is already sent). A hook that throws gets 500.
    /// Null: answer every call 200.
    /// </summary>
    public Func<IncomingCall, CancellationToken, ValueTask<CallDecision>>? OnInvite { get; init; }

    /// <summary>The user part of the Contact (default "engine").</summary>
    public string User { get; init; } = "engine";

    /// <summary>The Server header.</summary>
    public string Server { get; init; } = "VoxGuard.Resilience";

    /// <summary>Timers and clock.</summary>
    public SipTransactionOptions Transactions { get; init; } = new();

    /// <summary>Parser limits for what the UAS receives.</summary>
    public SipParserLimits ParserLimits { get; init; } = SipParserLimits.Default;

    /// <summary>Throws when the options cannot work, naming every problem.</summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (UdpEndPoint is null && TcpEndPoint is null)
        {
            problems.Add("set UdpEndPoint, TcpEndPoint or both");
        }

        foreach (var endPoint in new[] { UdpEndPoint, TcpEndPoint })
        {
            if (endPoint is not null && !SipLoopback.Admits(endPoint.Address))
            {
                problems.Add($"{endPoint} is outside 127.0.0.0/8 (loopback only)");
            }
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid UAS options: " + string.Join("; ", problems) + ".");
        }
    }
}

/// <summary>What the UAS has done so far (a snapshot).</summary>
public sealed record SipUasCounters(
    long Invites, long Answered, long Rejected, long Cancelled, long Acks, long AckTimeouts, long Byes, long UnknownByes,
    long Options, long HookFailures, long ParseErrors, int ActiveDialogs);

using VoxGuard.Resilience.Sip.Messages;

namespace VoxGuard.Resilience.Sip.Transactions;

/// <summary>How a client transaction ended when no final response came.</summary>
public enum SipClientFailure
{
    /// <summary>A final response arrived.</summary>
    None,

    /// <summary>Timer B (INVITE) or Timer F (non-INVITE) fired: no final response within 64·T1.</summary>
    Timeout,

    /// <summary>The request could not be sent, or its TCP connection closed before a final response.</summary>
    TransportError,
}

/// <summary>The outcome of a client transaction: the final response, or why there is none. A value, never an exception.</summary>
public sealed record SipClientResult(SipResponse? Response, SipClientFailure Failure, string? Error)
{
    /// <summary>A final response.</summary>
    public static SipClientResult Of(SipResponse response) => new(response, SipClientFailure.None, null);

    /// <summary>The status code of the final response, or null.</summary>
    public int? StatusCode => Response?.StatusCode;
}

namespace VoxGuard.Resilience.Sip.Transports;

/// <summary>A send or connect that failed (refused, reset, closed). Transactions turn it into a transport-error result.</summary>
public sealed class SipTransportException : Exception
{
    public SipTransportException()
    {
    }

    public SipTransportException(string message)
        : base(message)
    {
    }

    public SipTransportException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

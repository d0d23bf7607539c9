namespace VoxGuard.Resilience.Sip.Transports;

/// <summary>The transports this stack speaks.</summary>
public enum SipTransportKind
{
    /// <summary>UDP: unreliable, so transactions retransmit (timers A, E, G).</summary>
    Udp,

    /// <summary>TCP: reliable and framed by Content-Length; one connection per call when balancing through HAProxy.</summary>
    Tcp,
}

/// <summary>Names of the transports in Via headers and URIs.</summary>
public static class SipTransportKindExtensions
{
    /// <summary>UDP or TCP, as in a Via's sent-protocol.</summary>
    public static string ViaName(this SipTransportKind kind) => kind == SipTransportKind.Tcp ? "TCP" : "UDP";
}

namespace VoxGuard.Resilience.Links.Proxies;

/// <summary>What a link carries: a TCP byte stream (Toxiproxy's proxies) or UDP datagrams (SIP over UDP).</summary>
public static class LinkProtocols
{
    /// <summary>A TCP link: every toxic applies.</summary>
    public const string Tcp = "tcp";

    /// <summary>A UDP link: a datagram relay per direction; latency, bandwidth and timeout (drop) apply per datagram.</summary>
    public const string Udp = "udp";

    /// <summary>Whether <paramref name="protocol"/> is tcp or udp.</summary>
    public static bool IsKnown(string? protocol) => protocol is Tcp or Udp;
}

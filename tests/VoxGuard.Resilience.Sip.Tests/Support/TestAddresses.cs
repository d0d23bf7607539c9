using System.Net;

namespace VoxGuard.Resilience.Sip.Tests.Support;

/// <summary>This suite's loopback block: 127.0.141.x–127.0.149.x (other fixtures use other blocks).</summary>
internal static class TestAddresses
{
    public static IPAddress Uas { get; } = IPAddress.Parse("127.0.141.1");

    public static IPAddress Uac { get; } = IPAddress.Parse("127.0.142.1");

    public static IPAddress Peer { get; } = IPAddress.Parse("127.0.143.1");

    public static IPAddress SippUas { get; } = IPAddress.Parse("127.0.144.1");

    public static IPAddress SippUac { get; } = IPAddress.Parse("127.0.145.1");

    /// <summary>A distinct source address per index: 127.0.146.1 … 127.0.149.254.</summary>
    public static IPAddress Source(int index) => new([127, 0, (byte)(146 + (index / 254 % 4)), (byte)(1 + (index % 254))]);

    public static IPEndPoint Any(IPAddress address) => new(address, 0);
}

using System.Net;
using System.Net.Sockets;

namespace VoxGuard.Resilience.Cli.Tests;

internal static class Loopback
{
    /// <summary>Whether something accepts TCP connections at <paramref name="endpoint"/>.</summary>
    public static bool IsListening(IPEndPoint endpoint)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Connect(endpoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

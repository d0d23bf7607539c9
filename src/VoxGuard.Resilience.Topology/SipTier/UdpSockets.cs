using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace VoxGuard.Resilience.Topology.SipTier;

/// <summary>
/// Whether a UDP socket is bound, read from /proc/net/udp: a UDP server cannot be probed by connecting, and probing by
/// binding would steal the port from a server still starting.
/// </summary>
internal static class UdpSockets
{
    /// <summary>
    /// True when some socket is bound to exactly <paramref name="endpoint"/> (IPv4) in the network namespace of
    /// <paramref name="pid"/> (/proc/&lt;pid&gt;/net/udp: a server in a region's container binds in the container's
    /// namespace, which /proc/net/udp, the harness's own, does not show).
    /// </summary>
    public static bool IsBound(IPEndPoint endpoint, int pid)
    {
        try
        {
            return IsBound(endpoint, File.ReadLines(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/net/udp")));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false; // the process is gone: its wait fails on its exit
        }
    }

    internal static bool IsBound(IPEndPoint endpoint, IEnumerable<string> table)
    {
        if (endpoint.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        var wanted = Local(endpoint);
        return table.Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(fields => fields.Length > 1 && string.Equals(fields[1], wanted, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The local_address column for an endpoint: the address as the kernel's native (little-endian) word, the port big-endian.</summary>
    internal static string Local(IPEndPoint endpoint)
    {
        var bytes = endpoint.Address.GetAddressBytes();
        if (BitConverter.IsLittleEndian)
        {
            Array.Reverse(bytes);
        }

        return string.Create(CultureInfo.InvariantCulture, $"{Convert.ToHexString(bytes)}:{endpoint.Port:X4}");
    }
}

using System.Globalization;
using System.Net;

namespace VoxGuard.Resilience.Links.Proxies;

/// <summary>Parses and prints "host:port" the way Go's net package does ("[::1]:80", ":8080").</summary>
internal static class HostPort
{
    public static bool TrySplit(string value, out string host, out int port)
    {
        host = string.Empty;
        port = 0;
        var colon = value.LastIndexOf(':');
        if (colon < 0)
        {
            return false;
        }

        host = value[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port)
            && port is >= 0 and <= 65535;
    }

    public static string Format(IPEndPoint endpoint) =>
        endpoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{endpoint.Address}]:{endpoint.Port}"
            : $"{endpoint.Address}:{endpoint.Port}";

    /// <summary>Resolves a listen or upstream address; an empty host means every interface.</summary>
    public static async Task<IPEndPoint> ResolveAsync(string value, CancellationToken cancel)
    {
        if (!TrySplit(value, out var host, out var port))
        {
            throw new FormatException($"address {value}: missing port in address");
        }

        if (host.Length == 0)
        {
            return new IPEndPoint(IPAddress.Any, port);
        }

        if (IPAddress.TryParse(host, out var address))
        {
            return new IPEndPoint(address, port);
        }

        var addresses = await Dns.GetHostAddressesAsync(host, cancel).ConfigureAwait(false);
        var chosen = addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault()
            ?? throw new FormatException($"lookup {host}: no such host");
        return new IPEndPoint(chosen, port);
    }
}

using System.Globalization;
using System.Net;

namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>
/// A sip:/sips: URI, just enough of it to route: user, host, port and parameters (<c>transport</c>, <c>lr</c>).
/// </summary>
public sealed record SipUri(string Scheme, string? User, string Host, int? Port, IReadOnlyDictionary<string, string?> Parameters)
{
    /// <summary>The <c>transport</c> parameter (udp, tcp), or null.</summary>
    public string? Transport => Parameters.GetValueOrDefault("transport");

    /// <summary>True for a loose-routing URI (<c>;lr</c>).</summary>
    public bool IsLooseRouter => Parameters.ContainsKey("lr");

    /// <summary>Parses a sip: or sips: URI; false for other schemes or malformed text.</summary>
    public static bool TryParse(string? text, out SipUri? uri)
    {
        uri = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var span = text.AsSpan().Trim();
        var colon = span.IndexOf(':');
        if (colon <= 0)
        {
            return false;
        }

        var scheme = span[..colon].ToString().ToLowerInvariant();
        if (scheme is not ("sip" or "sips"))
        {
            return false;
        }

        var rest = span[(colon + 1)..];
        var headers = rest.IndexOf('?');
        if (headers >= 0)
        {
            rest = rest[..headers];
        }

        string? user = null;
        var at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            user = rest[..at].ToString();
            rest = rest[(at + 1)..];
        }

        var semicolon = rest.IndexOf(';');
        var hostPort = semicolon >= 0 ? rest[..semicolon] : rest;
        var parameters = semicolon >= 0 ? SipParameters.Parse(rest[(semicolon + 1)..]) : new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (!SplitHostPort(hostPort, out var host, out var port))
        {
            return false;
        }

        uri = new SipUri(scheme, user, host, port, parameters);
        return true;
    }

    /// <summary>Parses a sip: or sips: URI.</summary>
    /// <exception cref="FormatException">Not a sip:/sips: URI.</exception>
    public static SipUri Parse(string text) =>
        TryParse(text, out var uri) ? uri! : throw new FormatException($"'{text}' is not a sip: or sips: URI.");

    /// <summary>The URI of an endpoint: <c>sip:user@127.0.0.1:5060;transport=tcp</c> (no transport parameter for UDP).</summary>
    public static string For(IPEndPoint endPoint, string? user = null, bool tcp = false)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var userPart = string.IsNullOrEmpty(user) ? string.Empty : user + "@";
        return string.Create(CultureInfo.InvariantCulture, $"sip:{userPart}{endPoint.Address}:{endPoint.Port}{(tcp ? ";transport=tcp" : string.Empty)}");
    }

    /// <summary>The IP endpoint the URI names (an IP literal host; port 5060 when absent), or null for a host name.</summary>
    public IPEndPoint? ToEndPoint() =>
        IPAddress.TryParse(Host.Trim('[', ']'), out var address) ? new IPEndPoint(address, Port ?? 5060) : null;

    internal static bool SplitHostPort(ReadOnlySpan<char> hostPort, out string host, out int? port)
    {
        host = string.Empty;
        port = null;
        hostPort = hostPort.Trim();
        if (hostPort.IsEmpty)
        {
            return false;
        }

        ReadOnlySpan<char> portText = default;
        if (hostPort[0] == '[')
        {
            var close = hostPort.IndexOf(']');
            if (close < 0)
            {
                return false;
            }

            host = hostPort[..(close + 1)].ToString();
            if (close + 1 < hostPort.Length)
            {
                if (hostPort[close + 1] != ':')
                {
                    return false;
                }

                portText = hostPort[(close + 2)..];
            }
        }
        else
        {
            var colon = hostPort.IndexOf(':');
            host = (colon >= 0 ? hostPort[..colon] : hostPort).Trim().ToString();
            if (colon >= 0)
            {
                portText = hostPort[(colon + 1)..];
            }
        }

        if (host.Length == 0 || host.AsSpan().IndexOfAny(" \t<>\"") >= 0)
        {
            return false;
        }

        if (!portText.IsEmpty || hostPort.EndsWith(":"))
        {
            if (!int.TryParse(portText.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value is < 1 or > 65535)
            {
                return false;
            }

            port = value;
        }

        return true;
    }
}

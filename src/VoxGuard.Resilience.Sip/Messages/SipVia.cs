using System.Globalization;
using System.Text.RegularExpressions;

namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>One Via entry: <c>SIP/2.0/UDP host:port;branch=z9hG4bK…;rport</c>.</summary>
public sealed partial record SipVia(string Transport, string Host, int? Port, IReadOnlyDictionary<string, string?> Parameters)
{
    /// <summary>The magic cookie every RFC 3261 branch starts with.</summary>
    public const string MagicCookie = "z9hG4bK";

    /// <summary>The branch parameter (the transaction id), or null.</summary>
    public string? Branch => Parameters.GetValueOrDefault("branch");

    /// <summary>Parses one Via entry (not a comma-separated list); false when malformed.</summary>
    public static bool TryParse(string? text, out SipVia? via)
    {
        via = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        // sent-protocol = "SIP" SLASH "2.0" SLASH transport; LWS is allowed around each slash (RFC 4475 3.1.1.1).
        var match = SentProtocol().Match(text);
        if (!match.Success)
        {
            return false;
        }

        var transport = match.Groups[1].Value.ToUpperInvariant();
        var rest = match.Groups[2].ValueSpan.Trim();
        var semicolon = rest.IndexOf(';');
        var hostPort = semicolon >= 0 ? rest[..semicolon] : rest;
        if (!SipUri.SplitHostPort(hostPort, out var host, out var port))
        {
            return false;
        }

        var parameters = semicolon >= 0 ? SipParameters.Parse(rest[(semicolon + 1)..]) : new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        via = new SipVia(transport, host, port, parameters);
        return true;
    }

    /// <summary>A Via value for this stack: <c>SIP/2.0/{transport} {host}:{port};branch={branch};rport</c>.</summary>
    public static string Format(string transport, System.Net.IPEndPoint sentBy, string branch)
    {
        ArgumentNullException.ThrowIfNull(sentBy);
        return string.Create(CultureInfo.InvariantCulture, $"SIP/2.0/{transport} {sentBy.Address}:{sentBy.Port};branch={branch};rport");
    }

    [GeneratedRegex(@"^\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z0-9.!%*_+`'~-]+)\s+(\S.*)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex SentProtocol();
}

using System.Globalization;

namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>One Via entry: <c>SIP/2.0/UDP host:port;branch=z9hG4bK…;rport</c>.</summary>
public sealed record SipVia(string Transport, string Host, int? Port, IReadOnlyDictionary<string, string?> Parameters)
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
        if (!TrySplitSentProtocol(text, out var transport, out var rest))
        {
            return false;
        }

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

    /// <summary>
    /// Splits <c>SIP / 2.0 / transport  sent-by…</c> (any case, whitespace around the slashes) into the transport, upper
    /// case, and the rest. Cut by hand rather than with a regular expression: every message's every Via comes here.
    /// </summary>
    private static bool TrySplitSentProtocol(string text, out string transport, out ReadOnlySpan<char> rest)
    {
        transport = string.Empty;
        rest = default;
        var span = text.AsSpan().TrimStart();
        if (!TryTake(ref span, "SIP") || !TryTake(ref span, "/") || !TryTake(ref span, "2.0") || !TryTake(ref span, "/"))
        {
            return false;
        }

        var length = 0;
        while (length < span.Length && IsTransportCharacter(span[length]))
        {
            length++;
        }

        // The transport must be followed by whitespace, then something that is not.
        var after = span[length..];
        var trimmed = after.TrimStart();
        if (length == 0 || trimmed.Length == after.Length || trimmed.IsEmpty)
        {
            return false;
        }

        transport = span[..length].ToString().ToUpperInvariant();
        rest = trimmed.Trim();
        return true;

        static bool TryTake(ref ReadOnlySpan<char> span, string expected)
        {
            if (!span.StartsWith(expected, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            span = span[expected.Length..].TrimStart();
            return true;
        }

        static bool IsTransportCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '!' or '%' or '*' or '_' or '+' or '`' or '\'' or '~' or '-';
    }
}

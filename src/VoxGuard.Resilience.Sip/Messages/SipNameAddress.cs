namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>A name-addr or addr-spec with header parameters: From, To, Contact, Route, Record-Route.</summary>
public sealed record SipNameAddress(string? DisplayName, string Uri, IReadOnlyDictionary<string, string?> Parameters)
{
    /// <summary>The tag parameter (From/To), or null.</summary>
    public string? Tag => Parameters.GetValueOrDefault("tag");

    /// <summary>Parses <c>"Bob" &lt;sip:bob@host&gt;;tag=x</c> or <c>sip:bob@host;tag=x</c>; false when malformed.</summary>
    public static bool TryParse(string? text, out SipNameAddress? address)
    {
        address = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var span = text.AsSpan().Trim();
        var open = IndexOutsideQuotes(span, '<');
        if (open >= 0)
        {
            var close = span[open..].IndexOf('>');
            if (close < 0)
            {
                return false;
            }

            close += open;
            var display = span[..open].Trim();
            if (display.Length >= 2 && display[0] == '"' && display[^1] == '"')
            {
                display = display[1..^1];
            }

            var uri = span[(open + 1)..close].Trim();
            if (uri.IsEmpty || uri.IndexOf(':') <= 0)
            {
                return false;
            }

            var after = span[(close + 1)..].Trim();
            if (!after.IsEmpty && after[0] != ';')
            {
                return false;
            }

            address = new SipNameAddress(display.IsEmpty ? null : display.ToString(), uri.ToString(), SipParameters.Parse(after));
            return true;
        }

        // addr-spec without angle brackets: parameters after the first ';' belong to the header (RFC 3261 20.10).
        var semicolon = span.IndexOf(';');
        var bare = (semicolon >= 0 ? span[..semicolon] : span).Trim();
        if (bare.IsEmpty || bare.IndexOf(':') <= 0 || bare.IndexOfAny(" \t\"") >= 0)
        {
            return false;
        }

        address = new SipNameAddress(null, bare.ToString(),
            semicolon >= 0 ? SipParameters.Parse(span[(semicolon + 1)..]) : new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase));
        return true;
    }

    private static int IndexOutsideQuotes(ReadOnlySpan<char> span, char wanted)
    {
        var quoted = false;
        for (var i = 0; i < span.Length; i++)
        {
            var c = span[i];
            if (quoted && c == '\\')
            {
                i++;
            }
            else if (c == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted && c == wanted)
            {
                return i;
            }
        }

        return -1;
    }
}

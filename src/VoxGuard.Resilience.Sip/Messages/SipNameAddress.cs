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
        if (!TrySplit(text, out var display, out var uri, out var parameters))
        {
            return false;
        }

        address = new SipNameAddress(display.IsEmpty ? null : display.ToString(), uri.ToString(), SipParameters.Parse(parameters));
        return true;
    }

    /// <summary>
    /// True when <see cref="TryParse"/> would accept <paramref name="text"/>; allocates nothing. The parser checks every
    /// message's From and To this way: parsing them into objects only to drop them was two dictionaries and four strings
    /// a message, at every hop of every call.
    /// </summary>
    internal static bool IsWellFormed(string? text) => TrySplit(text, out _, out _, out _);

    /// <summary>Cuts a name-addr or addr-spec into its display name (unquoted), URI and parameter list (";a=b;c").</summary>
    private static bool TrySplit(string? text, out ReadOnlySpan<char> display, out ReadOnlySpan<char> uri, out ReadOnlySpan<char> parameters)
    {
        display = uri = parameters = default;
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
            display = span[..open].Trim();
            if (display.Length >= 2 && display[0] == '"' && display[^1] == '"')
            {
                display = display[1..^1];
            }

            uri = span[(open + 1)..close].Trim();
            if (uri.IsEmpty || uri.IndexOf(':') <= 0)
            {
                return false;
            }

            parameters = span[(close + 1)..].Trim();
            return parameters.IsEmpty || parameters[0] == ';';
        }

        // addr-spec without angle brackets: parameters after the first ';' belong to the header (RFC 3261 20.10).
        var semicolon = span.IndexOf(';');
        uri = (semicolon >= 0 ? span[..semicolon] : span).Trim();
        parameters = semicolon >= 0 ? span[(semicolon + 1)..] : default;
        return !uri.IsEmpty && uri.IndexOf(':') > 0 && uri.IndexOfAny(" \t\"") < 0;
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

namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>Parses <c>;name=value;flag</c> parameter lists (names case-insensitive; a flag has a null value).</summary>
internal static class SipParameters
{
    public static Dictionary<string, string?> Parse(ReadOnlySpan<char> text)
    {
        var parameters = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var range in text.Split(';'))
        {
            var part = text[range].Trim();
            if (part.IsEmpty)
            {
                continue;
            }

            var equals = part.IndexOf('=');
            if (equals < 0)
            {
                parameters[part.ToString()] = null;
            }
            else
            {
                var name = part[..equals].Trim();
                var value = part[(equals + 1)..].Trim();
                if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                {
                    value = value[1..^1];
                }

                parameters[name.ToString()] = value.ToString();
            }
        }

        return parameters;
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using VoxGuard.Resilience.Links.Proxies;
using VoxGuard.Resilience.Links.Toxics;

namespace VoxGuard.Resilience.Links.Api;

/// <summary>Writes the API's JSON in Toxiproxy's field order.</summary>
internal static class JsonResponse
{
    /// <summary>
    /// Options for the writers of API bodies. Only fixed ASCII property names go through the writer's own
    /// escaping; every string value (and the proxy names keying GET /proxies) is quoted by <see cref="GoQuote"/>.
    /// </summary>
    public static JsonWriterOptions WriterOptions { get; } = new();

    /// <summary>Proxies as a JSON array, each as <see cref="WriteProxy"/> writes it.</summary>
    public static void WriteProxyArray(Utf8JsonWriter json, IEnumerable<ProxyRuntime> proxies)
    {
        json.WriteStartArray();
        foreach (var proxy in proxies)
        {
            WriteProxy(json, proxy);
        }

        json.WriteEndArray();
    }

    public static void WriteProxy(Utf8JsonWriter json, ProxyRuntime proxy)
    {
        json.WriteStartObject();
        WriteGoString(json, "name", proxy.Name);
        WriteGoString(json, "listen", proxy.Listen);
        WriteGoString(json, "upstream", proxy.Upstream);
        json.WriteBoolean("enabled", proxy.Enabled);
        if (proxy.Protocol != LinkProtocols.Tcp)
        {
            // An extension of Toxiproxy's API: only a UDP link says so, a TCP one looks exactly like Toxiproxy's.
            WriteGoString(json, "protocol", proxy.Protocol);
        }

        json.WritePropertyName("toxics");
        WriteToxics(json, proxy.Toxics);
        json.WriteEndObject();
    }

    /// <summary>One proxy's JSON text.</summary>
    public static string ProxyText(ProxyRuntime proxy)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(output, WriterOptions))
        {
            WriteProxy(json, proxy);
        }

        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    public static void WriteToxics(Utf8JsonWriter json, IEnumerable<ToxicDefinition> toxics)
    {
        json.WriteStartArray();
        foreach (var toxic in toxics)
        {
            WriteToxic(json, toxic);
        }

        json.WriteEndArray();
    }

    public static void WriteToxic(Utf8JsonWriter json, ToxicDefinition toxic)
    {
        json.WriteStartObject();
        json.WriteStartObject("attributes");
        foreach (var attribute in ToxicDefinition.AttributeNamesOf(toxic.Type))
        {
            json.WriteNumber(attribute, toxic[attribute]);
        }

        json.WriteEndObject();
        WriteGoString(json, "name", toxic.Name);
        WriteGoString(json, "type", toxic.Type);
        WriteGoString(json, "stream", toxic.Stream);
        // Toxiproxy keeps toxicity as a float32; print it as Go would (0.3, not 0.30000001).
        json.WritePropertyName("toxicity");
        json.WriteRawValue(GoFloat32(toxic.Toxicity), skipInputValidation: true);
        json.WriteEndObject();
    }

    public static void WriteError(Utf8JsonWriter json, LinkApiError error)
    {
        json.WriteStartObject();
        WriteGoString(json, "error", error.Message);
        json.WriteNumber("status", error.Status);
        json.WriteEndObject();
    }

    /// <summary>
    /// Go's encoding of a float32: the shortest digits that read back as the same float32, in plain
    /// notation, or in exponent notation ("1e-7", "1e+21") below 1e-6 and from 1e21 up.
    /// </summary>
    public static string GoFloat32(double value)
    {
        var single = (float)value;
        if (single == 0)
        {
            return float.IsNegative(single) ? "-0" : "0";
        }

        // .NET prints the shortest round-trip digits; take them apart as sign, digits and decimal exponent.
        var shortest = single.ToString("R", CultureInfo.InvariantCulture);
        var negative = shortest.StartsWith('-');
        var unsigned = negative ? shortest[1..] : shortest;
        var exponentAt = unsigned.IndexOf('E', StringComparison.Ordinal);
        var mantissa = exponentAt < 0 ? unsigned : unsigned[..exponentAt];
        var exponent = exponentAt < 0 ? 0 : int.Parse(unsigned[(exponentAt + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = point < 0 ? mantissa : mantissa.Remove(point, 1);
        var integerDigits = (point < 0 ? mantissa.Length : point) + exponent;
        var leadingZeros = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        integerDigits -= leadingZeros;

        // Now value = 0.digits × 10^integerDigits.
        var sign = negative ? "-" : string.Empty;
        var magnitude = Math.Abs(single);
        if (magnitude < 1e-6f || magnitude >= 1e21f)
        {
            var decimalExponent = integerDigits - 1;
            var fraction = digits.Length > 1 ? "." + digits[1..] : string.Empty;
            var exponentText = decimalExponent < 0
                ? "-" + (-decimalExponent).ToString(CultureInfo.InvariantCulture)
                : "+" + decimalExponent.ToString("00", CultureInfo.InvariantCulture);
            return $"{sign}{digits[0]}{fraction}e{exponentText}";
        }

        if (integerDigits <= 0)
        {
            return $"{sign}0.{new string('0', -integerDigits)}{digits}";
        }

        if (integerDigits >= digits.Length)
        {
            return sign + digits + new string('0', integerDigits - digits.Length);
        }

        return $"{sign}{digits[..integerDigits]}.{digits[integerDigits..]}";
    }

    /// <summary>A string property whose value is escaped as Go escapes it.</summary>
    public static void WriteGoString(Utf8JsonWriter json, string property, string value)
    {
        json.WritePropertyName(property);
        json.WriteRawValue(GoQuote(value), skipInputValidation: true);
    }

    /// <summary>
    /// A JSON string literal exactly as Go's encoding/json writes it: <c>\"</c>, <c>\\</c>, <c>\n</c>, <c>\r</c>,
    /// <c>\t</c>, <c>\b</c>, <c>\f</c>; other control characters, <c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c>, U+2028 and
    /// U+2029 as lowercase <c>\u00xx</c>; everything else, non-ASCII included, as is (a lone surrogate as U+FFFD).
    /// </summary>
    public static string GoQuote(string value)
    {
        var quoted = new StringBuilder(value.Length + 2).Append('"');
        for (var index = 0; index < value.Length; index++)
        {
            var character = value[index];
            switch (character)
            {
                case '"':
                    quoted.Append("\\\"");
                    break;
                case '\\':
                    quoted.Append("\\\\");
                    break;
                case '\n':
                    quoted.Append("\\n");
                    break;
                case '\r':
                    quoted.Append("\\r");
                    break;
                case '\t':
                    quoted.Append("\\t");
                    break;
                case '\b':
                    quoted.Append("\\b");
                    break;
                case '\f':
                    quoted.Append("\\f");
                    break;
                case < ' ' or '<' or '>' or '&' or '\u2028' or '\u2029':
                    quoted.Append("\\u").Append(((int)character).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                case var high when char.IsHighSurrogate(high) && index + 1 < value.Length && char.IsLowSurrogate(value[index + 1]):
                    quoted.Append(high).Append(value[++index]);
                    break;
                case var lone when char.IsSurrogate(lone):
                    quoted.Append('\uFFFD');
                    break;
                default:
                    quoted.Append(character);
                    break;
            }
        }

        return quoted.Append('"').ToString();
    }
}

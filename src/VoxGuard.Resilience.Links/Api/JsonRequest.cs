using System.Runtime.InteropServices;
using System.Text.Json;

namespace VoxGuard.Resilience.Links.Api;

/// <summary>
/// Reads request bodies the way Toxiproxy's Go decoder does: field names match
/// case-insensitively, unknown fields are ignored, a wrong type or broken JSON is a
/// 400 "bad request body: …".
/// </summary>
internal sealed class JsonRequest
{
    private static readonly JsonElement EmptyObject = JsonElement.Parse("{}");
    private static readonly JsonElement EmptyArray = JsonElement.Parse("[]");

    private readonly JsonElement _root;

    private JsonRequest(JsonElement root) => _root = root;

    public static JsonRequest Parse(ReadOnlySpan<byte> body, JsonValueKind expected = JsonValueKind.Object)
    {
        // Go's decoder: nothing but whitespace is io.EOF, a value cut short is io.ErrUnexpectedEOF.
        if (body.Trim(" \t\r\n"u8).IsEmpty)
        {
            throw BadBody("EOF");
        }

        JsonElement root;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { AllowMultipleValues = true });
            root = JsonElement.ParseValue(ref reader);
        }
        catch (JsonException exception)
        {
            throw BadBody(IsCutShort(body) ? "unexpected EOF" : exception.Message);
        }

        if (root.ValueKind == JsonValueKind.Null)
        {
            // Go decodes null into a struct or slice as "no change": every field keeps its default.
            return new JsonRequest(expected == JsonValueKind.Array ? EmptyArray : EmptyObject);
        }

        if (root.ValueKind != expected)
        {
            throw BadBody($"json: cannot unmarshal {KindName(root.ValueKind)} into a value of type {KindName(expected)}");
        }

        return new JsonRequest(root);
    }

    public IEnumerable<JsonRequest> Items => _root.EnumerateArray().Select(item =>
        item.ValueKind == JsonValueKind.Object
            ? new JsonRequest(item)
            : throw BadBody($"json: cannot unmarshal {KindName(item.ValueKind)} into a value of type object"));

    /// <summary>The strings of an array request (proxy names), each read as Go reads a string.</summary>
    public IReadOnlyList<string> Strings => [.. _root.EnumerateArray().Select(item =>
        item.ValueKind == JsonValueKind.String
            ? TextOf(item)
            : throw BadBody($"json: cannot unmarshal {KindName(item.ValueKind)} into a value of type string"))];

    public string? String(string field) => Field(field) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => TextOf(value),
        { ValueKind: JsonValueKind.Null } => null,
        { } other => throw WrongType(field, other, "string"),
    };

    public bool? Bool(string field) => Field(field) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        { ValueKind: JsonValueKind.Null } => null,
        { } other => throw WrongType(field, other, "bool"),
    };

    /// <summary>A float32 field, as Toxiproxy's toxicity: a number beyond float32's range is refused as Go refuses it.</summary>
    public double? Number(string field) => Field(field) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value when value.TryGetDouble(out var number) && Math.Abs(number) <= float.MaxValue => number,
        { ValueKind: JsonValueKind.Null } => null,
        { } other => throw WrongType(field, other, "float32"),
    };

    /// <summary>An integer attribute; fractions and out-of-range numbers are refused as Go refuses them.</summary>
    public long? Integer(string field) => Field(field) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value when value.TryGetInt64(out var integer) => integer,
        { ValueKind: JsonValueKind.Null } => null,
        { } other => throw WrongType(field, other, "int64"),
    };

    public JsonRequest? Object(string field) => Field(field) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Object } value => new JsonRequest(value),
        { ValueKind: JsonValueKind.Null } => null,
        { } other => throw WrongType(field, other, "object"),
    };

    private JsonElement? Field(string name)
    {
        // Go matches an exact name first, then any case-insensitive one.
        if (_root.TryGetProperty(name, out var exact))
        {
            return exact;
        }

        foreach (var property in _root.EnumerateObject())
        {
            if (string.Equals(NameOf(property), name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
    }

    /// <summary>A string value; invalid UTF-8 becomes U+FFFD, as Go's decoder does, instead of an exception.</summary>
    private static string TextOf(JsonElement value)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return JsonSerializer.Deserialize<string>(Repaired(JsonMarshal.GetRawUtf8Value(value)))!;
        }
    }

    private static string NameOf(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            return JsonSerializer.Deserialize<string>(Repaired(JsonMarshal.GetRawUtf8PropertyName(property), quote: true))!;
        }
    }

    /// <summary>The raw JSON text of a string with every invalid UTF-8 sequence replaced by U+FFFD.</summary>
    private static byte[] Repaired(ReadOnlySpan<byte> raw, bool quote = false)
    {
        var text = System.Text.Encoding.UTF8.GetString(raw);
        return System.Text.Encoding.UTF8.GetBytes(quote ? $"\"{text}\"" : text);
    }

    /// <summary>True when the body is valid JSON so far but ends before its first value does.</summary>
    private static bool IsCutShort(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, isFinalBlock: false, new JsonReaderState(new JsonReaderOptions { AllowMultipleValues = true }));
        try
        {
            while (reader.Read())
            {
                if (reader.CurrentDepth == 0 && reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray or JsonTokenType.PropertyName))
                {
                    return false;
                }
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static LinkApiError WrongType(string field, JsonElement value, string type) =>
        BadBody($"json: cannot unmarshal {KindName(value.ValueKind)} into Go struct field {field} of type {type}");

    private static LinkApiError BadBody(string detail) => new(400, $"bad request body: {detail}");

    private static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "bool",
        _ => "null",
    };
}

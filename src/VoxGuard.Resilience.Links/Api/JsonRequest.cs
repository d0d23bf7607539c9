using System.Text.Json;

namespace VoxGuard.Resilience.Links.Api;

/// <summary>
/// Reads request bodies the way Toxiproxy's Go decoder does: field names match
/// case-insensitively, unknown fields are ignored, a wrong type or broken JSON is a
/// 400 "bad request body: …".
/// </summary>
internal sealed class JsonRequest
{
    private readonly JsonElement _root;

    private JsonRequest(JsonElement root) => _root = root;

    public static JsonRequest Parse(ReadOnlySpan<byte> body, JsonValueKind expected = JsonValueKind.Object)
    {
        if (body.IsEmpty)
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
            throw BadBody(exception.Message);
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

    public string? String(string field) => Field(field) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
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

    public double? Number(string field) => Field(field) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value => value.GetDouble(),
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
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
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

using System.Text.Json;
using VoxGuard.Resilience.Links.Proxies;
using VoxGuard.Resilience.Links.Toxics;

namespace VoxGuard.Resilience.Links.Api;

/// <summary>Writes the API's JSON in Toxiproxy's field order.</summary>
internal static class JsonResponse
{
    /// <summary>Escapes like Go's encoder does for what matters here: quotes and control characters, not apostrophes.</summary>
    public static JsonWriterOptions WriterOptions { get; } = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void WriteProxy(Utf8JsonWriter json, ProxyRuntime proxy)
    {
        json.WriteStartObject();
        json.WriteString("name", proxy.Name);
        json.WriteString("listen", proxy.Listen);
        json.WriteString("upstream", proxy.Upstream);
        json.WriteBoolean("enabled", proxy.Enabled);
        json.WritePropertyName("toxics");
        WriteToxics(json, proxy.Toxics);
        json.WriteEndObject();
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
        json.WriteString("name", toxic.Name);
        json.WriteString("type", toxic.Type);
        json.WriteString("stream", toxic.Stream);
        // Toxiproxy keeps toxicity as a float32; print it as Go would (0.3, not 0.30000001).
        json.WriteNumber("toxicity", Math.Round(toxic.Toxicity, 7));
        json.WriteEndObject();
    }

    public static void WriteError(Utf8JsonWriter json, LinkApiError error)
    {
        json.WriteStartObject();
        json.WriteString("error", error.Message);
        json.WriteNumber("status", error.Status);
        json.WriteEndObject();
    }
}

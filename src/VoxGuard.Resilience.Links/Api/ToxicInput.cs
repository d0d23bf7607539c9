using VoxGuard.Resilience.Links.Toxics;

namespace VoxGuard.Resilience.Links.Api;

/// <summary>Turns toxic requests into definitions, checking in Toxiproxy's order.</summary>
internal static class ToxicInput
{
    public static LinkApiError AlreadyExists() => new(409, "toxic already exists");

    public static LinkApiError NotFound() => new(404, "toxic not found");

    /// <summary>A new toxic: stream, then type, then name clash, then attributes.</summary>
    public static ToxicDefinition ReadNew(JsonRequest request, Func<string, ToxicDefinition?> findExisting)
    {
        var stream = request.String("stream") ?? ToxicStreams.Downstream;
        var type = request.String("type") ?? string.Empty;
        var toxicity = request.Number("toxicity") ?? 1.0;
        var name = request.String("name");
        var attributes = request.Object("attributes");

        if (!ToxicStreams.IsValid(stream.ToLowerInvariant()))
        {
            throw new LinkApiError(400, "stream was invalid, can be either upstream or downstream");
        }

        if (string.IsNullOrEmpty(name))
        {
            name = $"{type}_{stream}";
        }

        if (!ToxicTypes.IsKnown(type))
        {
            throw new LinkApiError(400, "invalid toxic type");
        }

        if (findExisting(name) is not null)
        {
            throw AlreadyExists();
        }

        return new ToxicDefinition(name, type, stream, toxicity, ReadAttributes(type, attributes, current: null));
    }

    /// <summary>An update: attributes merge into the current ones; toxicity stays unless given.</summary>
    public static ToxicDefinition ReadUpdate(JsonRequest request, ToxicDefinition current)
    {
        var toxicity = request.Number("toxicity") ?? current.Toxicity;
        var attributes = ReadAttributes(current.Type, request.Object("attributes"), current.Attributes);
        return current with { Toxicity = toxicity, Attributes = attributes };
    }

    private static Dictionary<string, long> ReadAttributes(
        string type, JsonRequest? input, IReadOnlyDictionary<string, long>? current)
    {
        var attributes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var attribute in ToxicDefinition.AttributeNamesOf(type))
        {
            attributes[attribute] = input?.Integer(attribute)
                ?? (current is not null && current.TryGetValue(attribute, out var kept) ? kept : 0);
        }

        return attributes;
    }
}

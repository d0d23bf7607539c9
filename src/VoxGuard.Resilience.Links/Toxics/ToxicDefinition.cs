namespace VoxGuard.Resilience.Links.Toxics;

/// <summary>
/// A toxic as the API sees it: immutable; an update produces a new definition.
/// Attributes are integers, in the units Toxiproxy documents for each type
/// (milliseconds, KB/s, bytes, microseconds for the slicer's delay). <see cref="Stream"/> is kept
/// exactly as the client sent it, as Toxiproxy does.
/// </summary>
internal sealed record ToxicDefinition(
    string Name,
    string Type,
    string Stream,
    double Toxicity,
    IReadOnlyDictionary<string, long> Attributes)
{
    /// <summary>The attribute names of each type, in the order Toxiproxy serialises them.</summary>
    public static IReadOnlyList<string> AttributeNamesOf(string type) => type switch
    {
        ToxicTypes.Latency => ["latency", "jitter"],
        ToxicTypes.Bandwidth => ["rate"],
        ToxicTypes.SlowClose => ["delay"],
        ToxicTypes.Timeout => ["timeout"],
        ToxicTypes.ResetPeer => ["timeout"],
        ToxicTypes.Slicer => ["average_size", "size_variation", "delay"],
        ToxicTypes.LimitData => ["bytes"],
        _ => [],
    };

    public long this[string attribute] => Attributes.TryGetValue(attribute, out var value) ? value : 0;

    /// <summary>The stream as a direction: Toxiproxy echoes "UpStream" as sent but acts on "upstream".</summary>
    public string Direction => Stream.ToLowerInvariant();
}

namespace VoxGuard.Resilience.Links.Toxics;

/// <summary>
/// A toxic as the API sees it: immutable; an update produces a new definition.
/// Attributes are integers, in the units Toxiproxy documents for each type
/// (milliseconds, KB/s, bytes, microseconds for the slicer's delay).
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
}

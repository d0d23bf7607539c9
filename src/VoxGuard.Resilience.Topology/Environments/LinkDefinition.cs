namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>
/// The network between two regions, with its one-way latency (Lagos↔Abuja 20 ms, Lagos↔Asaba 30 ms,
/// Abuja↔Asaba 25 ms). A link is undirected: it carries traffic both ways between the pair.
/// </summary>
public sealed record LinkDefinition(string From, string To, TimeSpan Latency)
{
    /// <summary>The pair's name, e.g. lagos-abuja.</summary>
    public string Name => $"{From}-{To}";

    /// <summary>True when this link joins the two regions, in either order.</summary>
    public bool Joins(string a, string b) =>
        (string.Equals(From, a, StringComparison.Ordinal) && string.Equals(To, b, StringComparison.Ordinal))
        || (string.Equals(From, b, StringComparison.Ordinal) && string.Equals(To, a, StringComparison.Ordinal));
}

/// <summary>
/// One service's traffic over one link: a proxy in the link server named <c>&lt;from&gt;-&lt;to&gt;-&lt;service&gt;</c>
/// (e.g. lagos-abuja-pg) carrying the link's latency.
/// </summary>
public sealed record ServiceLink(string Name, string From, string To, RegionService Service, TimeSpan Latency);

namespace VoxGuard.Resilience.Measurement;

/// <summary>A span of time in which more than one node of a store claimed to be its primary.</summary>
/// <param name="From">When the second claim was first seen.</param>
/// <param name="To">When only one claim was left (or the end of the observations).</param>
/// <param name="Nodes">Every node claiming the role during the span.</param>
public sealed record DualPrimaryWindow(TimeSpan From, TimeSpan To, IReadOnlyList<string> Nodes)
{
    /// <summary>How long it lasted.</summary>
    public TimeSpan Duration => To - From;
}

/// <summary>Split-brain evidence from polled roles and the write timeline.</summary>
public static class SplitBrainAnalysis
{
    /// <summary>
    /// The spans in which two or more nodes claimed the primary role, from role observations (each node's latest
    /// observation holds until its next one); a span still open at <paramref name="end"/> closes there.
    /// </summary>
    public static IReadOnlyList<DualPrimaryWindow> DualPrimaryWindows(IEnumerable<RoleObservation> observations, TimeSpan end)
    {
        ArgumentNullException.ThrowIfNull(observations);
        var claims = new Dictionary<string, bool>(StringComparer.Ordinal);
        var windows = new List<DualPrimaryWindow>();
        TimeSpan? openedAt = null;
        var nodes = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var observation in observations.OrderBy(observation => observation.At))
        {
            claims[observation.Node] = observation.ClaimsPrimary;
            var claiming = claims.Where(claim => claim.Value).Select(claim => claim.Key).ToList();
            if (claiming.Count >= 2)
            {
                openedAt ??= observation.At;
                nodes.UnionWith(claiming);
            }
            else if (openedAt is { } from)
            {
                windows.Add(new DualPrimaryWindow(from, observation.At, [.. nodes]));
                openedAt = null;
                nodes.Clear();
            }
        }

        if (openedAt is { } stillOpen)
        {
            windows.Add(new DualPrimaryWindow(stillOpen, end, [.. nodes]));
        }

        return windows;
    }
}

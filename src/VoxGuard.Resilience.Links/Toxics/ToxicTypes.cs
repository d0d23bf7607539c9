namespace VoxGuard.Resilience.Links.Toxics;

/// <summary>The toxic types this link server implements, named as Toxiproxy names them.</summary>
public static class ToxicTypes
{
    public const string Latency = "latency";
    public const string Bandwidth = "bandwidth";
    public const string SlowClose = "slow_close";
    public const string Timeout = "timeout";
    public const string ResetPeer = "reset_peer";
    public const string Slicer = "slicer";
    public const string LimitData = "limit_data";
    public const string Noop = "noop";

    public static IReadOnlyList<string> All { get; } =
        [Latency, Bandwidth, SlowClose, Timeout, ResetPeer, Slicer, LimitData, Noop];

    public static bool IsKnown(string? type) => type is not null && All.Contains(type);
}

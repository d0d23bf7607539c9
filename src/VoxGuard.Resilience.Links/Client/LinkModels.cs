using System.Text.Json;

namespace VoxGuard.Resilience.Links.Client;

/// <summary>A proxy as the API reports it.</summary>
public sealed record LinkProxy(string Name, string Listen, string Upstream, bool Enabled, IReadOnlyList<LinkToxic> Toxics)
{
    /// <summary>"tcp", or "udp" for this link server's datagram relay (Toxiproxy reports no protocol: TCP).</summary>
    public string Protocol { get; init; } = "tcp";

    internal static LinkProxy FromJson(JsonElement json) => new(
        json.GetProperty("name").GetString()!,
        json.GetProperty("listen").GetString()!,
        json.GetProperty("upstream").GetString()!,
        json.GetProperty("enabled").GetBoolean(),
        json.TryGetProperty("toxics", out var toxics) && toxics.ValueKind == JsonValueKind.Array
            ? toxics.EnumerateArray().Select(LinkToxic.FromJson).ToArray()
            : [])
    {
        Protocol = json.TryGetProperty("protocol", out var protocol) && protocol.GetString() is { Length: > 0 } named ? named : "tcp",
    };
}

/// <summary>A toxic as the API reports it. Attributes are in the units of its type (ms, KB/s, bytes, µs).</summary>
public sealed record LinkToxic(string Name, string Type, string Stream, double Toxicity, IReadOnlyDictionary<string, long> Attributes)
{
    internal static LinkToxic FromJson(JsonElement json) => new(
        json.GetProperty("name").GetString()!,
        json.GetProperty("type").GetString()!,
        json.GetProperty("stream").GetString()!,
        json.GetProperty("toxicity").GetDouble(),
        json.TryGetProperty("attributes", out var attributes) && attributes.ValueKind == JsonValueKind.Object
            ? attributes.EnumerateObject()
                .Where(attribute => attribute.Value.ValueKind == JsonValueKind.Number)
                .ToDictionary(attribute => attribute.Name, attribute => (long)attribute.Value.GetDouble())
            : new Dictionary<string, long>());
}

/// <summary>A proxy to create (alone or in a populate call).</summary>
/// <param name="Name">Its name.</param>
/// <param name="Listen">Where it listens.</param>
/// <param name="Upstream">Where it forwards to.</param>
/// <param name="Enabled">Whether it listens at once.</param>
/// <param name="Protocol">"tcp" (Toxiproxy's) or "udp" (this link server's datagram relay).</param>
public sealed record LinkProxySpec(string Name, string Listen, string Upstream, bool Enabled = true, string Protocol = "tcp");

/// <summary>
/// A toxic to add. Use the factories (<see cref="Latency"/>, <see cref="Timeout"/>, …) for the
/// built-in types; the constructor takes any type a real Toxiproxy knows.
/// </summary>
public sealed record ToxicSpec(string Type, IReadOnlyDictionary<string, long> Attributes)
{
    /// <summary>Toxiproxy's default when null: "&lt;type&gt;_&lt;stream&gt;".</summary>
    public string? Name { get; init; }

    /// <summary>"upstream" (client → server) or "downstream" (server → client, the default).</summary>
    public string Stream { get; init; } = "downstream";

    /// <summary>The chance (0–1) that a given connection is affected.</summary>
    public double Toxicity { get; init; } = 1.0;

    public static ToxicSpec Latency(TimeSpan latency, TimeSpan jitter = default) =>
        new("latency", new Dictionary<string, long> { ["latency"] = Milliseconds(latency), ["jitter"] = Milliseconds(jitter) });

    /// <param name="kilobytesPerSecond">1 KB = 1000 bytes, as Toxiproxy counts.</param>
    public static ToxicSpec Bandwidth(long kilobytesPerSecond) =>
        new("bandwidth", new Dictionary<string, long> { ["rate"] = kilobytesPerSecond });

    public static ToxicSpec SlowClose(TimeSpan delay) =>
        new("slow_close", new Dictionary<string, long> { ["delay"] = Milliseconds(delay) });

    /// <summary>Drops all data; closes the connection after <paramref name="closeAfter"/> (zero: never).</summary>
    public static ToxicSpec Timeout(TimeSpan closeAfter) =>
        new("timeout", new Dictionary<string, long> { ["timeout"] = Milliseconds(closeAfter) });

    public static ToxicSpec ResetPeer(TimeSpan after) =>
        new("reset_peer", new Dictionary<string, long> { ["timeout"] = Milliseconds(after) });

    public static ToxicSpec Slicer(long averageSize, long sizeVariation, TimeSpan delay) =>
        new("slicer", new Dictionary<string, long>
        {
            ["average_size"] = averageSize,
            ["size_variation"] = sizeVariation,
            ["delay"] = (long)delay.TotalMicroseconds,
        });

    public static ToxicSpec LimitData(long bytes) =>
        new("limit_data", new Dictionary<string, long> { ["bytes"] = bytes });

    public static ToxicSpec Noop() => new("noop", new Dictionary<string, long>());

    private static long Milliseconds(TimeSpan value) => (long)value.TotalMilliseconds;
}

/// <summary>A partial proxy update: only what is set changes.</summary>
public sealed record LinkProxyUpdate(string? Listen = null, string? Upstream = null, bool? Enabled = null);

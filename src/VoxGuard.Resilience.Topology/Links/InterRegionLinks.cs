using System.Diagnostics;
using VoxGuard.Resilience.Links;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Topology.Links;

/// <summary>How a region is cut off from the others.</summary>
public enum IsolationMode
{
    /// <summary>Its links are disabled: live connections drop, new ones are refused (a clean partition).</summary>
    Cut,

    /// <summary>Its links swallow every byte but stay open (a blackhole: peers notice only by timeouts).</summary>
    Blackhole,

    /// <summary>
    /// Its links stay as they are; packet-filter rules inside the region's own network namespace drop every packet
    /// between it and the other regions (<c>hosts: containers</c> only: <see cref="Local.RegionPacketFilter"/>).
    /// </summary>
    Firewall,
}

/// <summary>A link operation and when it started and was verified, on the monotonic clock (Stopwatch timestamps).</summary>
public sealed record LinkOperation(string What, IReadOnlyList<string> Links, long StartedAt, long VerifiedAt);

/// <summary>
/// The inter-region links of one environment on a link server (embedded or a real Toxiproxy): created with the
/// environment's latencies, and the operations scenarios need — isolate and heal a region, shape a link. Each
/// returns once the link server reports the promised state. With the balancer's access links on, they are links of the
/// plan too (created, shaped and unshaped by name), but isolating a region leaves them alone.
/// </summary>
public sealed class InterRegionLinks
{
    /// <summary>The latency toxics every link carries; scenario toxics use other names.</summary>
    public const string LatencyToxicPrefix = "region-latency";

    private const string BlackholeToxicPrefix = "isolation-blackhole";
    private readonly LinkClient _client;
    private readonly EnvironmentDefinition _environment;

    /// <summary>The loopback plan: every inter-region link, then the balancer's access links when they are on.</summary>
    public InterRegionLinks(LinkClient client, EnvironmentDefinition environment)
        : this(client, environment, [.. InterRegionLinkPlan.For(environment), .. BalancerAccessLinkPlan.For(environment)])
    {
    }

    /// <summary>The links of <paramref name="plan"/> (e.g. the compose file's, between container networks) instead of the loopback plan.</summary>
    public InterRegionLinks(LinkClient client, EnvironmentDefinition environment, IReadOnlyList<InterRegionLink> plan)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(plan);
        _client = client;
        _environment = environment;
        Plan = plan;
    }

    /// <summary>
    /// The link server itself when it runs in this process (<see cref="Local.LocalTopology"/>'s): links are then switched
    /// by a call, not a request to it, so that a region's cut happens the moment it is asked for.
    /// </summary>
    public LinkServer? EmbeddedServer { get; init; }

    /// <summary>Every directed link of the plan (the loopback one: then the balancer's access links, when they are on).</summary>
    public IReadOnlyList<InterRegionLink> Plan { get; }

    /// <summary>The link of that name, or an error listing the known ones.</summary>
    public InterRegionLink Link(string name) =>
        Plan.FirstOrDefault(link => link.Name == name)
        ?? throw new ArgumentException($"No inter-region link '{name}' in environment {_environment.Name} (known: {string.Join(", ", Plan.Select(link => link.Name))}).", nameof(name));

    /// <summary>Creates (or re-creates) every link with its latency, half each way, and verifies them all enabled.</summary>
    public async Task<LinkOperation> ApplyAsync(CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        await _client.PopulateAsync(
            Plan.Select(link => new LinkProxySpec(link.Name, link.Listen.ToString(), link.Upstream.ToString(), Protocol: link.Protocol.Name())),
            cancellationToken).ConfigureAwait(false);
        // Populate keeps an identical proxy as it finds it, disabled too: every link of the plan enabled again, in one
        // change — the path a region's cut takes, which must be quick, and is then not its first run.
        await SetEnabledAsync(Plan.Select(link => link.Name), enabled: true, cancellationToken).ConfigureAwait(false);
        foreach (var link in Plan)
        {
            var present = (await _client.GetToxicsAsync(link.Name, cancellationToken).ConfigureAwait(false)).Select(toxic => toxic.Name).ToHashSet();
            foreach (var stream in new[] { "upstream", "downstream" })
            {
                var name = $"{LatencyToxicPrefix}-{stream}";
                if (!present.Contains(name))
                {
                    await _client.AddToxicAsync(link.Name, ToxicSpec.Latency(link.OneWayLatency) with { Name = name, Stream = stream }, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        await VerifyAsync(Plan, enabled: true, cancellationToken).ConfigureAwait(false);
        return new LinkOperation("apply", [.. Plan.Select(link => link.Name)], started, Stopwatch.GetTimestamp());
    }

    /// <summary>Cuts <paramref name="region"/> off from every other region; clients inside it still reach its own services.</summary>
    public Task<LinkOperation> IsolateAsync(string region, IsolationMode mode = IsolationMode.Cut, CancellationToken cancellationToken = default) =>
        PartitionAsync(LinksOf(region), $"isolate {region}", mode, cancellationToken);

    /// <summary>
    /// Partitions two regions from each other only (every link between them, both directions); each still reaches the
    /// third. Undone by <see cref="HealBetweenAsync"/>.
    /// </summary>
    public Task<LinkOperation> IsolateBetweenAsync(string region, string other, IsolationMode mode = IsolationMode.Cut, CancellationToken cancellationToken = default) =>
        PartitionAsync(LinksBetween(region, other), $"partition {region} | {other}", mode, cancellationToken);

    /// <summary>Undoes <see cref="IsolateBetweenAsync"/>.</summary>
    public Task<LinkOperation> HealBetweenAsync(string region, string other, CancellationToken cancellationToken = default) =>
        RestoreAsync(LinksBetween(region, other), $"heal {region} | {other}", cancellationToken);

    private async Task<LinkOperation> PartitionAsync(List<InterRegionLink> links, string what, IsolationMode mode, CancellationToken cancellationToken)
    {
        if (mode == IsolationMode.Firewall)
        {
            throw new ArgumentException("The firewall isolation is a region's packet filter, not its links: LocalTopology.IsolateRegionAsync applies it.", nameof(mode));
        }

        var started = Stopwatch.GetTimestamp();
        if (mode == IsolationMode.Cut)
        {
            // One change: every link stops in the same instant, as a region's network fails. One request per link spread
            // the cut over 0.1–0.9 s, and a region loss's measured RPO came out short by as much (docs/measured-facts.md,
            // "A region's loss in one instant").
            await SetEnabledAsync(links.Select(link => link.Name), enabled: false, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            foreach (var link in links)
            {
                foreach (var stream in new[] { "upstream", "downstream" })
                {
                    await _client.AddToxicAsync(link.Name, ToxicSpec.Timeout(TimeSpan.Zero) with { Name = $"{BlackholeToxicPrefix}-{stream}", Stream = stream }, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        await VerifyAsync(links, enabled: mode == IsolationMode.Blackhole, cancellationToken).ConfigureAwait(false);
        return new LinkOperation($"{what} ({mode.ToString().ToLowerInvariant()})", [.. links.Select(link => link.Name)], started, Stopwatch.GetTimestamp());
    }

    /// <summary>Enables or disables links in one change: by a call to <see cref="EmbeddedServer"/>, else one API request.</summary>
    private Task SetEnabledAsync(IEnumerable<string> names, bool enabled, CancellationToken cancellationToken) =>
        EmbeddedServer is { } server ? server.SetProxiesEnabledAsync(names, enabled)
        : enabled ? _client.EnableProxiesAsync(names, cancellationToken) : _client.DisableProxiesAsync(names, cancellationToken);

    /// <summary>Undoes <see cref="IsolateAsync"/>: links enabled, blackholes removed, latencies as before.</summary>
    public Task<LinkOperation> HealAsync(string region, CancellationToken cancellationToken = default) =>
        RestoreAsync(LinksOf(region), $"heal {region}", cancellationToken);

    private async Task<LinkOperation> RestoreAsync(List<InterRegionLink> links, string what, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await SetEnabledAsync(links.Select(link => link.Name), enabled: true, cancellationToken).ConfigureAwait(false);
        foreach (var link in links)
        {
            foreach (var toxic in await _client.GetToxicsAsync(link.Name, cancellationToken).ConfigureAwait(false))
            {
                if (toxic.Name.StartsWith(BlackholeToxicPrefix, StringComparison.Ordinal))
                {
                    await _client.RemoveToxicAsync(link.Name, toxic.Name, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        await VerifyAsync(links, enabled: true, cancellationToken).ConfigureAwait(false);
        return new LinkOperation(what, [.. links.Select(link => link.Name)], started, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// The links of <paramref name="region"/> that are isolated now: cut (disabled) or blackholed, as the link server
    /// reports them. Empty when the region is fully connected.
    /// </summary>
    public async Task<IReadOnlyList<string>> IsolatedLinksAsync(string region, CancellationToken cancellationToken = default)
    {
        var links = LinksOf(region);
        var proxies = await _client.GetProxiesAsync(cancellationToken).ConfigureAwait(false);
        return [.. links.Where(link => proxies.TryGetValue(link.Name, out var proxy)
                && (!proxy.Enabled || proxy.Toxics.Any(toxic => toxic.Name.StartsWith(BlackholeToxicPrefix, StringComparison.Ordinal))))
            .Select(link => link.Name)];
    }

    /// <summary>Adds any toxic to one link (e.g. more latency on abuja-lagos-pg for a replication-lag scenario).</summary>
    public async Task<LinkOperation> ShapeAsync(string linkName, ToxicSpec toxic, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(toxic);
        var link = Link(linkName);
        var started = Stopwatch.GetTimestamp();
        var added = await _client.AddToxicAsync(link.Name, toxic, cancellationToken).ConfigureAwait(false);
        return new LinkOperation($"shape {link.Name}: {added.Type} {added.Name}", [link.Name], started, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// Removes every toxic <see cref="ShapeAsync"/> added to one link; the documented latency and an isolation stay.
    /// </summary>
    public async Task<LinkOperation> UnshapeAsync(string linkName, CancellationToken cancellationToken = default)
    {
        var link = Link(linkName);
        var started = Stopwatch.GetTimestamp();
        var removed = new List<string>();
        foreach (var toxic in await _client.GetToxicsAsync(link.Name, cancellationToken).ConfigureAwait(false))
        {
            if (!toxic.Name.StartsWith(LatencyToxicPrefix, StringComparison.Ordinal) && !toxic.Name.StartsWith(BlackholeToxicPrefix, StringComparison.Ordinal))
            {
                await _client.RemoveToxicAsync(link.Name, toxic.Name, cancellationToken).ConfigureAwait(false);
                removed.Add(toxic.Name);
            }
        }

        return new LinkOperation($"unshape {link.Name}: removed {(removed.Count == 0 ? "nothing" : string.Join(", ", removed))}", [link.Name], started, Stopwatch.GetTimestamp());
    }

    private List<InterRegionLink> LinksBetween(string region, string other)
    {
        var (one, two) = (_environment.Region(region).Name, _environment.Region(other).Name); // unknown names fail here
        return one == two
            ? throw new ArgumentException($"A partition needs two different regions, not {one} twice.", nameof(other))
            : [.. Plan.Where(link => link.Touches(one) && link.Touches(two))];
    }

    private List<InterRegionLink> LinksOf(string region)
    {
        var known = _environment.Region(region); // an unknown region fails here, naming the known ones
        return [.. Plan.Where(link => !link.IsAccessLink && link.Touches(known.Name))];
    }

    private async Task VerifyAsync(IEnumerable<InterRegionLink> links, bool enabled, CancellationToken cancellationToken)
    {
        var proxies = await _client.GetProxiesAsync(cancellationToken).ConfigureAwait(false);
        var wrong = links.Where(link => !proxies.TryGetValue(link.Name, out var proxy) || proxy.Enabled != enabled).Select(link => link.Name).ToList();
        if (wrong.Count > 0)
        {
            throw new InvalidOperationException(
                $"The link server at {_client.BaseAddress} does not report {string.Join(", ", wrong)} as {(enabled ? "enabled" : "disabled")}.");
        }
    }
}

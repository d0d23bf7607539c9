using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Local;

namespace VoxGuard.Resilience.Drills;

/// <summary>
/// A state one scenario can leave its topology in for the next (<see cref="ScenarioRun.LeaveTopology"/>), with the
/// check the next scenario runs before it trusts that state: healthy — as a fresh start leaves it — or failed over
/// after a region's loss. Everything is read from the servers and the link server, nothing from what a scenario did.
/// </summary>
/// <param name="Name">What the state is, e.g. "healthy" (printed with the check's findings).</param>
/// <param name="LostRegion">The region lost (every process dead, every link cut), or null for healthy.</param>
public sealed record TopologyCondition(string Name, string? LostRegion)
{
    /// <summary>
    /// As a fresh start leaves it: every process running, the balancer with every region UP, both stores' primaries in the
    /// primary region with every replica streaming from them, Patroni not paused, etcd quorate, every link enabled and
    /// carrying only its documented latency.
    /// </summary>
    public static TopologyCondition Healthy { get; } = new("healthy", null);

    /// <summary>
    /// After <paramref name="region"/>'s loss: its processes dead and its links cut; the balancer with it DOWN and the
    /// others UP; both stores' primaries elected outside it with the surviving replicas streaming from them.
    /// </summary>
    public static TopologyCondition AfterLossOf(string region) => new($"after {region}'s loss", region);

    /// <summary>Everything that differs from this state now, one line each; empty when the topology is in it.</summary>
    public async Task<IReadOnlyList<string>> ProblemsAsync(LocalTopology topology, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var environment = topology.Environment;
        var problems = new List<string>();
        var survivors = environment.Regions.Where(region => region.Name != LostRegion).Select(region => region.Name).ToList();
        var expectedPrimary = LostRegion is null ? environment.Primary.Name : null;

        foreach (var region in environment.Regions)
        {
            foreach (var process in topology.ProcessesOf(region.Name))
            {
                var alive = !process.HasExited && !process.IsPaused;
                if (alive != (region.Name != LostRegion))
                {
                    problems.Add($"{process.Name}: {(process.HasExited ? "exited" : process.IsPaused ? "paused" : "running")}");
                }
            }
        }

        if (topology.Sip.Balancer.HasExited)
        {
            problems.Add("the balancer has exited");
        }

        foreach (var state in await topology.Sip.BalancerStatesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (state.IsUp != (state.Region != LostRegion))
            {
                problems.Add($"balancer/{state.Region}: {state.RawStatus} ({state.CheckStatus})");
            }
        }

        var postgres = await topology.Postgres.StatusAsync(cancellationToken).ConfigureAwait(false);
        var postgresPrimaries = postgres.Where(node => node.Role == "primary").Select(node => node.Region).ToList();
        problems.AddRange(PrimaryProblems("postgres", postgresPrimaries, expectedPrimary));
        foreach (var node in postgres.Where(node => survivors.Contains(node.Region)))
        {
            if (node.Role == "standby" && node.Upstream?.EndsWith("streaming", StringComparison.Ordinal) != true)
            {
                problems.Add($"postgres/{node.Region}: standby not streaming ({node.Upstream ?? "no WAL receiver"})");
            }

            if (node.Role is not ("primary" or "standby"))
            {
                problems.Add($"postgres/{node.Region}: {node.Role}");
            }

            if (node.Patroni is { Paused: true })
            {
                problems.Add($"patroni/{node.Region}: maintenance mode");
            }

            if (node.Etcd != "healthy")
            {
                problems.Add($"etcd/{node.Region}: {node.Etcd ?? "no answer"}");
            }
        }

        var redis = await topology.Redis.StatusAsync(cancellationToken).ConfigureAwait(false);
        problems.AddRange(PrimaryProblems("redis", [.. redis.Where(node => node.Role == "master").Select(node => node.Region)], expectedPrimary));
        foreach (var node in redis.Where(node => survivors.Contains(node.Region) && node.Role != "master"))
        {
            if (node.Role != "replica" || node.MasterLink != "up")
            {
                problems.Add($"redis/{node.Region}: {node.Role}, master link {node.MasterLink ?? "none"}");
            }
        }

        using var links = new LinkClient(topology.LinkServer.ApiAddress);
        var proxies = await links.GetProxiesAsync(cancellationToken).ConfigureAwait(false);
        foreach (var link in topology.Links.Plan)
        {
            var cut = LostRegion is not null && link.Touches(LostRegion);
            if (!proxies.TryGetValue(link.Name, out var proxy))
            {
                problems.Add($"link {link.Name}: missing from the link server");
            }
            else if (proxy.Enabled == cut)
            {
                problems.Add($"link {link.Name}: {(proxy.Enabled ? "enabled" : "cut")}");
            }
            else if (!cut && proxy.Toxics.FirstOrDefault(toxic => !toxic.Name.StartsWith(InterRegionLinks.LatencyToxicPrefix, StringComparison.Ordinal)) is { } extra)
            {
                problems.Add($"link {link.Name}: toxic {extra.Name} ({extra.Type}) beyond the documented latency");
            }
        }

        return problems;
    }

    private static IEnumerable<string> PrimaryProblems(string store, IReadOnlyList<string> primaries, string? expected)
    {
        if (primaries.Count != 1)
        {
            yield return $"{store}: {(primaries.Count == 0 ? "no primary" : "primaries " + string.Join(" + ", primaries))}";
        }
        else if (expected is not null && primaries[0] != expected)
        {
            yield return $"{store}: primary in {primaries[0]}, not {expected}";
        }
    }
}

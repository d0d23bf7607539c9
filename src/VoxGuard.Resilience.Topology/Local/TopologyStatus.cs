using System.Globalization;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Topology.Local;

/// <summary>One server in the status table.</summary>
/// <param name="Region">Its region, or "global" for the balancer.</param>
/// <param name="Node">sip, engine, redis, sentinel, postgres, patroni, etcd or balancer.</param>
/// <param name="Role">What it is doing: primary/standby, master/replica, proxy, …</param>
/// <param name="Health">running, paused or down, and what its peers think of it (balancer check, master link).</param>
/// <param name="Replication">Replication position and lag, or whom a Sentinel names as master.</param>
public sealed record NodeStatusRow(string Region, string Node, string Role, string Health, string Replication);

/// <summary>A snapshot of every node of a running topology (what <c>./resilience status</c> prints).</summary>
/// <param name="Environment">The environment's name.</param>
/// <param name="Profile">The profile applied.</param>
/// <param name="TakenAt">When the snapshot was taken.</param>
/// <param name="Nodes">Every server, region by region, the balancer last.</param>
public sealed record TopologyStatus(string Environment, string? Profile, DateTimeOffset TakenAt, IReadOnlyList<NodeStatusRow> Nodes)
{
    /// <summary>Builds the table from what each tier reported.</summary>
    public static TopologyStatus From(EnvironmentDefinition environment, SipProxyTier sip, IReadOnlyList<BalancerServerState> balancer,
        IReadOnlyList<PostgresNodeStatus> postgres, IReadOnlyList<RedisNodeStatus> redis)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(sip);
        ArgumentNullException.ThrowIfNull(balancer);
        ArgumentNullException.ThrowIfNull(postgres);
        ArgumentNullException.ThrowIfNull(redis);
        var rows = new List<NodeStatusRow>();
        foreach (var region in environment.Regions)
        {
            var name = region.Name;
            var state = balancer.FirstOrDefault(each => each.Region == name);
            rows.Add(new NodeStatusRow(name, "sip", "proxy", Health(sip.Proxies[name]),
                state is null ? "balancer: not listed" : string.Create(CultureInfo.InvariantCulture, $"balancer: {state.RawStatus} ({state.CheckStatus}), weight {state.Weight}")));
            rows.Add(new NodeStatusRow(name, "engine", "engine", Health(sip.Engines[name]), "-"));

            var store = redis.Single(each => each.Region == name);
            rows.Add(new NodeStatusRow(name, "redis", store.Role,
                store.MasterLink is null ? store.Role is "master" or "replica" ? "running" : store.Role : $"running, master link {store.MasterLink}",
                Position("offset", store.Offset?.ToString(CultureInfo.InvariantCulture), store.LagBytes)));
            rows.Add(new NodeStatusRow(name, "sentinel", "sentinel", store.SentinelSays is "down" or "paused" or "unreachable" ? store.SentinelSays : "running",
                store.SentinelSays is "down" or "paused" or "unreachable" ? "-" : $"names {store.SentinelSays} master"));

            var node = postgres.Single(each => each.Region == name);
            rows.Add(new NodeStatusRow(name, "postgres", node.Role is "primary" or "standby" ? node.Role : "-",
                node.Role is "primary" or "standby" ? node.Upstream is null ? "running" : $"running, from {node.Upstream}" : node.Role,
                Position("lsn", node.Lsn, node.LagBytes)));
            rows.Add(new NodeStatusRow(name, "patroni", node.Patroni?.Role switch { null => "-", "master" or "primary" => "leader", var role => role },
                node.Role is "down" or "paused" ? node.Role : node.Patroni?.State ?? "not answering",
                node.Patroni is null ? "-" : string.Create(CultureInfo.InvariantCulture, $"timeline {node.Patroni.Timeline?.ToString(CultureInfo.InvariantCulture) ?? "-"}{(node.Patroni.Paused ? ", maintenance mode" : string.Empty)}")));
            rows.Add(new NodeStatusRow(name, "etcd", "member", node.Etcd switch { "healthy" => "running", "no quorum" => "running, no quorum", var other => other ?? "-" },
                string.Create(CultureInfo.InvariantCulture, $"quorum: {postgres.Count(each => each.Etcd == "healthy")}/{postgres.Count} members healthy")));
        }

        rows.Add(new NodeStatusRow("global", "balancer",
            $"{environment.Balancer.Transport.ToString().ToLowerInvariant()} {environment.Balancer.Mode.ToString().ToLowerInvariant()}",
            Health(sip.Balancer),
            $"{balancer.Count(each => each.IsUp)}/{environment.Regions.Count} regions UP"));
        return new TopologyStatus(environment.Name, environment.Profile?.Name, DateTimeOffset.UtcNow, rows);
    }

    private static string Health(ManagedProcess process) => process.HasExited ? "down" : process.IsPaused ? "paused" : "running";

    private static string Position(string label, string? position, long? lagBytes) =>
        position is null ? "-" : lagBytes is null ? $"{label} {position}" : string.Create(CultureInfo.InvariantCulture, $"{label} {position}, lag {lagBytes} B");
}

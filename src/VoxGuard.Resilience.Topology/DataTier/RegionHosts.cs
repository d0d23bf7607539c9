using System.Text;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.DataTier;

/// <summary>
/// One name per database host that means, in each region, the address that region reaches it at: <c>pg-lagos</c>,
/// <c>patroni-lagos</c>, <c>etcd-lagos</c> and <c>pgbackrest-lagos</c> are Lagos's own addresses inside Lagos and Lagos's gateway addresses
/// (its links) inside Abuja and Asaba. Each etcd member and Patroni node sees its region's hosts file as /etc/hosts
/// (<see cref="ProcessSpec.HostsFile"/>).
/// </summary>
/// <remarks>
/// Why: etcd members, Patroni nodes and their PostgreSQL publish one address each (peer URLs, <c>api_url</c>,
/// <c>conn_url</c>) that every other region then dials, and neither etcd nor libpq can choose the source address the
/// switchboard would route by. A name resolved per region sends every such connection through the right link, so
/// cutting a region's links takes its etcd vote and its replication away for real. etcd derives member ids from the
/// URL text, which is the same everywhere.
/// </remarks>
public static class RegionHosts
{
    /// <summary>The name of <paramref name="region"/>'s PostgreSQL host (Patroni's <c>postgresql.connect_address</c>).</summary>
    public static string Postgres(string region) => $"pg-{region}";

    /// <summary>The name of <paramref name="region"/>'s Patroni REST API host (Patroni's <c>restapi.connect_address</c>).</summary>
    public static string Patroni(string region) => $"patroni-{region}";

    /// <summary>The name of <paramref name="region"/>'s etcd member host (its client and peer URLs).</summary>
    public static string Etcd(string region) => $"etcd-{region}";

    /// <summary>The name of <paramref name="region"/>'s pgBackRest TLS server host (backups, WAL archive, restores).</summary>
    public static string PgBackRest(string region) => $"pgbackrest-{region}";

    /// <summary>The hosts file of <paramref name="observer"/>'s servers, as text.</summary>
    public static string For(EnvironmentDefinition environment, RegionDefinition observer)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(observer);
        var text = new StringBuilder()
            .Append("# Written by VoxGuard.Resilience: what ").Append(observer.Name).Append("'s database servers call each host.\n")
            .Append("127.0.0.1\tlocalhost\n");
        foreach (var region in environment.Regions)
        {
            var own = region.Name == observer.Name;
            var gateway = own ? null : InterRegionLinkPlan.GatewayAddress(environment, observer, region);
            text.Append(gateway ?? region.Postgres.Address).Append('\t').Append(Postgres(region.Name)).Append('\n');
            text.Append(gateway ?? region.Patroni.Address).Append('\t').Append(Patroni(region.Name)).Append('\n');
            text.Append(gateway ?? region.Etcd.Address).Append('\t').Append(Etcd(region.Name)).Append('\n');
            text.Append(gateway ?? region.PgBackRest.Address).Append('\t').Append(PgBackRest(region.Name)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Writes every region's hosts file into the run directory; returns their paths by region.</summary>
    public static async Task<IReadOnlyDictionary<string, string>> WriteAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var region in environment.Regions)
        {
            var path = PathOf(run, region);
            await File.WriteAllTextAsync(path, For(environment, region), cancellationToken).ConfigureAwait(false);
            paths[region.Name] = path;
        }

        return paths;
    }

    /// <summary>Where <paramref name="region"/>'s hosts file lives in the run directory.</summary>
    public static string PathOf(RunDirectory run, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(region);
        return run.PathOf($"{region.Name}-hosts");
    }
}

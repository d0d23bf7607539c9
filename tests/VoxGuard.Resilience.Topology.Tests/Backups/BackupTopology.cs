using System.Diagnostics;
using System.Net;
using VoxGuard.Resilience.Topology.Backups;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.Tests.Processes;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Backups;

/// <summary>
/// The data tiers of the tiny environment in blocks 127.0.171–173.x with backups on: links and switchboard, every
/// region's pgBackRest TLS server, PostgreSQL under Patroni archiving into repo1 (Lagos) and repo2 (Abuja), Redis and
/// Sentinels. One per fixture (a start costs ~6 s); everything is killed on disposal.
/// </summary>
internal sealed class BackupTopology : IAsyncDisposable
{
    public const string Table = "voxguard_writes";

    private BackupTopology(EnvironmentDefinition environment, RunningLinks links, LinkSwitchboard switchboard, RunDirectory run)
    {
        Environment = environment;
        Links = links;
        Switchboard = switchboard;
        Run = run;
    }

    public EnvironmentDefinition Environment { get; }

    public RunningLinks Links { get; }

    public LinkSwitchboard Switchboard { get; }

    public RunDirectory Run { get; }

    public PostgresBackups Backups { get; private set; } = null!;

    public PostgresTier Postgres { get; private set; } = null!;

    public RedisTier? Redis { get; private set; }

    public TimeSpan StartedIn { get; private set; }

    private int _restores;

    /// <summary>The tiny environment in blocks 171–173 with a backups section (<paramref name="backupsYaml"/>, flow mapping).</summary>
    public static EnvironmentDefinition EnvironmentWith(string backupsYaml) =>
        TinyEnvironment.Parse(RunningLinks.TinyEnvironmentInBlocks(171).Yaml.Replace("profiles:", $"backups: {backupsYaml}\nprofiles:", StringComparison.Ordinal));

    public static async Task<BackupTopology> StartAsync(EnvironmentDefinition environment, bool withRedis)
    {
        var started = Stopwatch.GetTimestamp();
        var links = await RunningLinks.StartAsync(environment);
        var switchboard = LinkSwitchboard.Start(environment, links.Links.Plan);
        var topology = new BackupTopology(environment, links, switchboard, RunDirectory.Create());
        try
        {
            topology.Backups = await PostgresBackups.StartAsync(environment, topology.Run);
            topology.Postgres = await PostgresTier.StartAsync(environment, topology.Run, topology.Backups.Archiving);
            await topology.Backups.CreateStanzaAsync("lagos");
            if (withRedis)
            {
                topology.Redis = await RedisTier.StartAsync(environment, topology.Run);
            }

            topology.StartedIn = Stopwatch.GetElapsedTime(started);
            return topology;
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
    }

    /// <summary>A fresh directory in the run for a restore (not created).</summary>
    public string FreshDirectory(string what) => Run.PathOf($"restored-{what}-{Interlocked.Increment(ref _restores)}");

    /// <summary>An address of <paramref name="region"/>'s block no service uses (host 50 + n), on <paramref name="port"/>.</summary>
    public IPEndPoint SpareEndPoint(string region, int port, int n = 0)
    {
        var bytes = Environment.Region(region).AddressBlock.BaseAddress.GetAddressBytes();
        bytes[3] = (byte)(50 + n);
        return new IPEndPoint(new IPAddress(bytes), port);
    }

    /// <summary>Inserts <paramref name="count"/> rows with ids <paramref name="prefix"/>-0… on the primary.</summary>
    public Task InsertAsync(string prefix, int count) =>
        Postgres.ExecuteAsync("lagos", $"INSERT INTO {Table} (id, region, call_id) SELECT '{prefix}-' || n, 'lagos', 'call-' || n FROM generate_series(0, {count - 1}) AS n");

    /// <summary>Switches WAL on the primary and waits until that segment is in every repository (archiving on).</summary>
    public async Task WaitUntilArchivedAsync(TimeSpan timeout)
    {
        var segment = (string)(await Postgres.ScalarAsync("lagos", "SELECT pg_walfile_name(pg_switch_wal())"))!;
        await WaitStrategy.UntilAsync(
            async cancel =>
            {
                var info = await Backups.InfoAsync(cancellationToken: cancel);
                return Environment.Backups.Repositories.All(repository =>
                    info.Archives.Any(archive => archive.RepositoryKey == repository.Index && string.CompareOrdinal(archive.Max, segment) >= 0));
            },
            timeout,
            TimeSpan.FromMilliseconds(200),
            $"WAL segment {segment} to reach every repository");
    }

    /// <summary>Every live process that carries <paramref name="runId"/> in its environment (what the run started, and their children).</summary>
    public static IReadOnlyList<string> ProcessesOfRun(string runId) =>
    [
        .. Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => int.TryParse(name, out _))
            .Select(name => int.Parse(name!, System.Globalization.CultureInfo.InvariantCulture))
            .Where(pid => Proc.IsRunning(pid) && Proc.Environ(pid).Contains($"{RunDirectory.RunIdVariable}={runId}\0", StringComparison.Ordinal))
            .Select(pid => $"{pid} {Proc.Comm(pid)}"),
    ];

    public async ValueTask DisposeAsync()
    {
        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
        }

        if (Backups is not null)
        {
            await Backups.DisposeAsync();
        }

        await Run.DisposeAsync();
        await Switchboard.DisposeAsync();
        await Links.DisposeAsync();
    }
}

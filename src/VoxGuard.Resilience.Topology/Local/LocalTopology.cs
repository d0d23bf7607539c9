using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using VoxGuard.Resilience.Links;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Links.Toxics;
using VoxGuard.Resilience.Topology.Backups;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Topology.Local;

/// <summary>
/// The whole miniature deployment of one environment on this machine: the link server with every inter-region link,
/// the switchboard, PostgreSQL under Patroni with its etcd, Redis with Sentinels, and the SIP side (engines, a Kamailio per region, the global
/// balancer) — and the operations scenarios inject faults with, and the documented recovery procedure (rejoin, failback).
/// Failover itself is the topology's own: the balancer's checks, Sentinel and Patroni. Every operation returns once the state it
/// promised is verified, with timestamps on the run's one clock.
/// </summary>
/// <remarks>
/// Start order follows dependencies: links before anything that replicates through them; then the data tiers and the
/// SIP tier side by side (an engine writes to the stores only for a call, and calls come only once the whole topology
/// is verified healthy). <see cref="StartupPhases"/> times every phase. A failed start tears down what it started. Disposing kills every process group and removes the
/// run directory; a killed harness leaves PID files the next run reaps.
/// </remarks>
public sealed class LocalTopology : IAsyncDisposable
{
    private readonly LinkClient _linkClient;
    /// <summary>The first host of a region's block restored copies use (below the links' gateways, above every service).</summary>
    private const int SpareHost = 50;

    private readonly LinkSwitchboard _switchboard;
    private readonly PhaseTimings _shutdown = new();
    private readonly List<RestoredCopy> _copies = [];
    private int _disposed;

    private LocalTopology(EnvironmentDefinition environment, RunDirectory run, LinkServer linkServer, LinkClient linkClient, InterRegionLinks links,
        LinkSwitchboard switchboard, PostgresTier postgres, RedisTier redis, SipProxyTier sip, IReadOnlyList<TopologyOperation> startup, PhaseTimings phases, PostgresBackups? backups)
    {
        StartupPhases = phases.Phases;
        Backups = backups;
        RedisBackups = backups is null ? null : new RedisBackups(environment, run);
        Environment = environment;
        Run = run;
        LinkServer = linkServer;
        _linkClient = linkClient;
        Links = links;
        _switchboard = switchboard;
        Postgres = postgres;
        Redis = redis;
        Sip = sip;
        Startup = startup;
        PriorityFailover = environment.Balancer.Mode == BalancerMode.Priority ? PriorityFailoverController.Start(sip) : null;
    }

    /// <summary>The regions' hosts of a containers environment (removed last on dispose), or null on loopback.</summary>
    private IRegionHosts? _regionHosts;

    /// <summary>Each region's packet filter, made on first use (containers only).</summary>
    private readonly Dictionary<string, RegionPacketFilter> _packetFilters = new(StringComparer.Ordinal);

    /// <summary>The environment (with its profile applied) this topology runs.</summary>
    public EnvironmentDefinition Environment { get; }

    /// <summary>The run directory: configuration, data, logs and PID files of every process.</summary>
    public RunDirectory Run { get; }

    /// <summary>The embedded link server carrying every inter-region connection.</summary>
    public LinkServer LinkServer { get; }

    /// <summary>The inter-region links: isolate, heal, shape.</summary>
    public InterRegionLinks Links { get; }

    /// <summary>The PostgreSQL nodes (the YugabyteDB stand-in).</summary>
    public PostgresTier Postgres { get; }

    /// <summary>The Redis nodes and Sentinels (the DragonflyDB stand-in).</summary>
    public RedisTier Redis { get; }

    /// <summary>
    /// With <see cref="LocalTopologyOptions.Backups"/>: pgBackRest over the PostgreSQL nodes (a TLS server per database
    /// host, WAL archived into the environment's repositories from the start); null otherwise.
    /// </summary>
    public PostgresBackups? Backups { get; }

    /// <summary>With <see cref="LocalTopologyOptions.Backups"/>: the guide's Redis backups into the same repositories; null otherwise.</summary>
    public RedisBackups? RedisBackups { get; }

    /// <summary>The engines, the SIP proxies and the global balancer.</summary>
    public SipProxyTier Sip { get; }

    /// <summary>With <c>balancer.mode: priority</c>, the controller holding failback and keeping the failover history.</summary>
    public PriorityFailoverController? PriorityFailover { get; }

    /// <summary>Each start step with its timing, in order.</summary>
    public IReadOnlyList<TopologyOperation> Startup { get; }

    /// <summary>
    /// The start in finer phases than <see cref="Startup"/> (each tier's servers, waits and checks), in the order they
    /// began; phases that overlap ran side by side. Where a start's seconds go.
    /// </summary>
    public IReadOnlyList<TopologyOperation> StartupPhases { get; }

    /// <summary>The phases of the stop, once <see cref="DisposeAsync"/> has run (empty before).</summary>
    public IReadOnlyList<TopologyOperation> ShutdownPhases => _shutdown.Phases;

    /// <summary>How long the start took, from the first check to verified healthy (the last step verified; steps may overlap).</summary>
    public TimeSpan StartupDuration => Stopwatch.GetElapsedTime(Startup[0].StartedAt, Startup.Max(step => step.VerifiedAt));

    /// <summary>
    /// Checks everything that can be checked before anything starts (the environment, every server binary, every
    /// address free), then starts the topology and returns when it is verified healthy: writes on both primaries
    /// readable on every replica, Sentinels agreeing, the balancer reporting every region up.
    /// </summary>
    /// <exception cref="TopologyStartException">A prerequisite is missing or an address is taken (nothing was started),
    /// or a server failed to start (everything started was torn down).</exception>
    public static async Task<LocalTopology> StartAsync(EnvironmentDefinition environment, LocalTopologyOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        options ??= new LocalTopologyOptions();
        var steps = new List<TopologyOperation>();
        var phases = new PhaseTimings();
        var started = Stopwatch.GetTimestamp();
        environment.Validate();
        if (environment.Hosts == RegionHosting.Containers && options.RegionHosts is null)
        {
            throw new TopologyStartException(
                $"{environment.Source} has hosts: containers, and nothing was given to make the regions' containers. Run it through ./resilience (up, drill), "
                + "which uses Podman or Docker, or set LocalTopologyOptions.RegionHosts (VoxGuard.Resilience.Containers.ContainerRegionHosts). Nothing was started.");
        }

        var run = RunDirectory.Create(options.RunDirectory);
        IRegionHosts? regionHosts = null;
        try
        {
            CheckPrerequisites(environment, run, options);
            CheckAddressesFree(environment, options);
            steps.Add(TopologyOperation.Since("check binaries and addresses", started));
            phases.Record(steps[^1].What, started);
            if (environment.Hosts == RegionHosting.Containers)
            {
                // Before the links: the link server listens on gateway addresses the regions' networks bring.
                var step = Stopwatch.GetTimestamp();
                regionHosts = await options.RegionHosts!.StartAsync(environment, run, cancellationToken).ConfigureAwait(false);
                steps.Add(TopologyOperation.Since($"region hosts up: {options.RegionHosts.Describe(environment)}", step));
                phases.Record("region hosts up", step);
                options.Progress?.Invoke(steps[^1]);
            }
        }
        catch (Exception exception)
        {
            await run.DisposeAsync().ConfigureAwait(false);
            if (regionHosts is not null)
            {
                await regionHosts.DisposeAsync().ConfigureAwait(false);
            }

            if (exception is OperationCanceledException or TopologyStartException)
            {
                throw;
            }

            throw new TopologyStartException($"The {environment.Name} topology did not start: {exception.Message} Everything it had started was stopped.", exception);
        }

        LinkServer? linkServer = null;
        LinkClient? client = null;
        LinkSwitchboard? switchboard = null;
        PostgresTier? postgres = null;
        PostgresBackups? backups = null;
        try
        {
            var step = Stopwatch.GetTimestamp();
            linkServer = new LinkServer(new LinkServerOptions
            {
                ApiEndpoint = options.LinkApiEndpoint,
                // Containers: links into a region connect from an address of their own (a region's packet filter tells them apart).
                UpstreamSource = environment.Hosts == RegionHosting.Containers ? InterRegionLinkPlan.UpstreamSources(environment) : null,
            });
            await linkServer.StartAsync(cancellationToken).ConfigureAwait(false);
            client = new LinkClient(linkServer.ApiAddress);
            var links = new InterRegionLinks(client, environment) { EmbeddedServer = linkServer };
            await links.ApplyAsync(cancellationToken).ConfigureAwait(false);
            switchboard = LinkSwitchboard.Start(environment, links.Plan);
            steps.Add(TopologyOperation.Since($"links up ({links.Plan.Count} directed links, API {linkServer.ApiAddress})", step));
            phases.Record($"links up ({links.Plan.Count} directed links)", step);
            options.Progress?.Invoke(steps[^1]);

            var archiving = default(WalArchiving);
            Func<string, CancellationToken, Task>? seedRedis = null;
            if (options.WithBackups)
            {
                // Before PostgreSQL: its archive_command names the TLS servers' configuration.
                step = Stopwatch.GetTimestamp();
                backups = await PostgresBackups.StartAsync(environment, run, cancellationToken).ConfigureAwait(false);
                archiving = backups.Archiving;
                steps.Add(TopologyOperation.Since($"pgBackRest TLS servers up, repositories {string.Join(", ", environment.Backups.Repositories.Select(repository => $"{repository.Name} ({repository.Region})"))}", step));
                phases.Record(steps[^1].What, step);
                options.Progress?.Invoke(steps[^1]);
            }

            if (options.RestoreFrom is { } restore)
            {
                // Both backups found and the Redis one checked before any server starts: a bad store is one clear error.
                step = Stopwatch.GetTimestamp();
                var set = await backups!.EnsureBackupInAsync(restore.Repository, cancellationToken).ConfigureAwait(false);
                var redisBackups = new RedisBackups(environment, run);
                var redisBackup = redisBackups.Latest(restore.Repository, environment.Backups.Redis.AppendOnly ? RedisBackupKind.Aof : RedisBackupKind.Rdb);
                archiving = backups.ArchivingRestoredFrom(restore.Repository);
                seedRedis = (directory, cancel) => redisBackups.PlaceAsync(redisBackup, directory, cancel);
                steps.Add(TopologyOperation.Since($"restore from {restore.Repository}: PostgreSQL backup {set.Label} and the WAL archived after it, Redis {redisBackup.Kind.ToString().ToUpperInvariant()} {redisBackup.Label} ({redisBackup.Keys} keys)", step));
                phases.Record(steps[^1].What, step);
                options.Progress?.Invoke(steps[^1]);
            }

            // The data tiers and the SIP tier start side by side: the tiers share nothing but the links, and no engine
            // touches a store before its first call, which comes only once the whole topology is verified healthy (the
            // engines' readiness calls below).
            using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            step = Stopwatch.GetTimestamp();
            var postgresStart = CancelOthersOnFailure(PostgresTier.StartAsync(environment, run, archiving, phases, failed.Token), failed);
            var redisStart = CancelOthersOnFailure(RedisTier.StartAsync(environment, run, seedRedis, phases, failed.Token), failed);
            var sipStart = CancelOthersOnFailure(SipProxyTier.StartAsync(environment, run, options.Engines, phases, failed.Token), failed);
            var sipStarted = sipStart.ContinueWith(_ => TopologyOperation.Since($"SIP proxies up, balancer reporting {environment.Regions.Count} regions UP", step),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            try
            {
                await Task.WhenAll(postgresStart, redisStart).ConfigureAwait(false);
                postgres = postgresStart.Result;
                if (environment.Database.Commit == CommitRule.Majority)
                {
                    // The same rule for the cache: a Redis master acknowledges a write only with a replica in sync (≤ 1 s behind).
                    await redisStart.Result.RequireReplicasForWritesAsync(1, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                }

                steps.Add(TopologyOperation.Since(options.RestoreFrom is null
                    ? "PostgreSQL and Redis replicating, Sentinels agreeing"
                    : "PostgreSQL restored by Patroni's pgBackRest bootstrap and cloned, Redis loaded from the backup and replicated, Sentinels agreeing", step));
                options.Progress?.Invoke(steps[^1]);
                if (backups is not null)
                {
                    var stanza = Stopwatch.GetTimestamp();
                    steps.Add(await backups.CreateStanzaAsync(environment.Primary.Name, cancellationToken).ConfigureAwait(false));
                    phases.Record(steps[^1].What, stanza);
                    options.Progress?.Invoke(steps[^1]);
                }

                await sipStart.ConfigureAwait(false);
            }
            catch
            {
                // Whatever still starts stops at once; the run directory below kills every process any tier started. The
                // error reported is the tier's that failed, not the cancellation it caused in the others.
                await failed.CancelAsync().ConfigureAwait(false);
                Task[] tiers = [postgresStart, redisStart, sipStart];
                await Task.WhenAll(tiers).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
                if (postgresStart.IsCompletedSuccessfully)
                {
                    postgres = postgresStart.Result; // disposed below with its etcd
                }

                var cause = tiers.Where(tier => tier.IsFaulted).Select(tier => tier.Exception!.InnerException).FirstOrDefault(inner => inner is not OperationCanceledException);
                if (cause is not null && !cancellationToken.IsCancellationRequested)
                {
                    ExceptionDispatchInfo.Throw(cause);
                }

                throw;
            }

            var sip = sipStart.Result;
            steps.Add(await sipStarted.ConfigureAwait(false));
            options.Progress?.Invoke(steps[^1]);
            // The SIP tier was verified while the data tiers were still starting: the balancer must still report every
            // region up now, when the topology is declared healthy (normally its first answer says so).
            step = Stopwatch.GetTimestamp();
            await sip.WaitUntilEveryRegionUpAsync(cancellationToken).ConfigureAwait(false);
            steps.Add(TopologyOperation.Since($"balancer still reporting {environment.Regions.Count} regions UP", step));
            phases.Record(steps[^1].What, step);
            options.Progress?.Invoke(steps[^1]);

            // Only now may calls touch the stores: the engines prove they serve calls, and are warm for the first load.
            step = Stopwatch.GetTimestamp();
            var ready = await Task.WhenAll(environment.Regions.Select(region => options.Engines.ReadyForLoadAsync(region, sip.Engines[region.Name], cancellationToken))).ConfigureAwait(false);
            if (ready.OfType<string>().ToList() is { Count: > 0 } engines)
            {
                steps.Add(TopologyOperation.Since($"engines ready for load: {string.Join("; ", engines)}", step));
                phases.Record("engines ready for load", step);
                options.Progress?.Invoke(steps[^1]);
            }

            new TopologyRecord(environment.Name, environment.Profile?.Name, environment.Source, linkServer.ApiAddress.ToString())
            {
                Repositories = backups is null ? null : [.. environment.Backups.Repositories.Select(repository => $"{repository.Name} ({repository.Region}): {backups.StoreOf(repository.Name)}")],
                EndpointNames = LinkSwitchboard.RedisNames(environment),
            }.WriteTo(run);
            return new LocalTopology(environment, run, linkServer, client, links, switchboard, postgres, redisStart.Result, sip, steps, phases, backups)
            {
                _regionHosts = regionHosts,
            };
        }
        catch (Exception exception)
        {
            if (postgres is not null)
            {
                await postgres.DisposeAsync().ConfigureAwait(false);
            }

            if (backups is not null)
            {
                await backups.DisposeAsync().ConfigureAwait(false);
            }

            await run.DisposeAsync().ConfigureAwait(false);
            if (switchboard is not null)
            {
                await switchboard.DisposeAsync().ConfigureAwait(false);
            }

            client?.Dispose();
            if (linkServer is not null)
            {
                await linkServer.DisposeAsync().ConfigureAwait(false);
            }

            if (regionHosts is not null)
            {
                await regionHosts.DisposeAsync().ConfigureAwait(false);
            }

            if (exception is OperationCanceledException or TopologyStartException)
            {
                throw;
            }

            throw new TopologyStartException($"The {environment.Name} topology did not start: {exception.Message} Everything it had started was stopped.", exception);
        }
    }

    /// <summary>
    /// Every server process of a region the harness started: proxy, engine, Redis, Sentinel, Patroni, the etcd member and,
    /// with backups, the pgBackRest TLS server (the latest process of each). PostgreSQL itself runs under Patroni, outside
    /// these; <see cref="PostgresTier"/> reaches it.
    /// </summary>
    public IReadOnlyList<ManagedProcess> ProcessesOf(string region)
    {
        var name = Environment.Region(region).Name;
        ManagedProcess[] processes = [Sip.Proxies[name], Sip.Engines[name], Redis.Processes[name], Redis.Sentinels[name], Postgres.Processes[name], Postgres.Etcd.Members[name]];
        return Backups is null ? processes : [.. processes, Backups.Servers[name]];
    }

    /// <summary>The process of one node: sip, engine, redis, sentinel, postgres (its Patroni) or etcd.</summary>
    public ManagedProcess NodeProcess(string region, RegionNode node)
    {
        var name = Environment.Region(region).Name;
        return node switch
        {
            RegionNode.Sip => Sip.Proxies[name],
            RegionNode.Engine => Sip.Engines[name],
            RegionNode.Redis => Redis.Processes[name],
            RegionNode.Sentinel => Redis.Sentinels[name],
            RegionNode.Postgres => Postgres.Processes[name],
            RegionNode.Etcd => Postgres.Etcd.Members[name],
            _ => throw new ArgumentOutOfRangeException(nameof(node), node, "Unknown node."),
        };
    }

    /// <summary>
    /// Loss of a region with its network: every link of it cut and every process of it SIGKILLed together, so bytes a
    /// link had not yet delivered are lost with the region; where regions are hosts of their own (containers), the
    /// region's host is killed too, its addresses gone. Verified when the links are cut, every process has exited and
    /// the host is stopped.
    /// </summary>
    public async Task<TopologyOperation> KillRegionAsync(string region, CancellationToken cancellationToken = default)
    {
        var name = Environment.Region(region).Name;
        var started = Stopwatch.GetTimestamp();
        // One instant for the data: the region's links silenced (by a call to the embedded link server; closed after), its
        // process groups SIGKILLed (its engine acknowledges nothing more), and PostgreSQL, which Patroni runs detached,
        // once the cut is done: finding its backends takes a pass over /proc (0.3–1.1 s on a loaded host). Cut one link
        // after another by API requests, beside a kill that scanned /proc first, the survivors went on receiving the
        // region's WAL for 0.1–1.6 s after its loss, or its engine went on acknowledging, and a region loss's measured
        // RPO was off by as much (docs/measured-facts.md, "A region's loss in one instant").
        var cut = Links.IsolateAsync(name, IsolationMode.Cut, cancellationToken);
        var losses = new List<Task> { cut, KillProcessGroupsAsync(name, cancellationToken) };
        if (_regionHosts is not null)
        {
            losses.Add(_regionHosts.LoseAsync(name, cancellationToken));
        }

        await cut.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
        losses.Add(Postgres.KillRegionAsync(name, cancellationToken));
        await Task.WhenAll(losses).ConfigureAwait(false);
        return TopologyOperation.Since(
            $"lose {name}: every link cut, every process SIGKILLed{(_regionHosts is null ? string.Empty : ", its host (container) killed")}", started);
    }

    /// <summary>A crash of every process of a region, its network intact: SIGKILL to all at once; verified when all have exited.</summary>
    public async Task<TopologyOperation> CrashRegionAsync(string region, CancellationToken cancellationToken = default)
    {
        var name = Environment.Region(region).Name;
        var started = Stopwatch.GetTimestamp();
        await CrashProcessesAsync(name, cancellationToken).ConfigureAwait(false);
        return TopologyOperation.Since($"crash every process of {name} (network intact)", started);
    }

    private Task CrashProcessesAsync(string region, CancellationToken cancellationToken) =>
        Task.WhenAll(KillProcessGroupsAsync(region, cancellationToken), Postgres.KillRegionAsync(region, cancellationToken));

    /// <summary>SIGKILLs the process group of every server of the region (each signal sent before this returns).</summary>
    private Task KillProcessGroupsAsync(string region, CancellationToken cancellationToken) =>
        Task.WhenAll(ProcessesOf(region).Select(process => process.KillAsync(cancellationToken)).ToList());

    /// <summary>
    /// Cuts (or blackholes) every link of a region; its own clients still reach it. <see cref="IsolationMode.Firewall"/>
    /// (containers only) leaves the links alone and drops the region's packets to and from them inside its own network
    /// namespace instead (<see cref="PacketFilter"/>).
    /// </summary>
    public async Task<TopologyOperation> IsolateRegionAsync(string region, IsolationMode mode = IsolationMode.Cut, CancellationToken cancellationToken = default) =>
        mode == IsolationMode.Firewall
            ? await PacketFilter(region).IsolateAsync(cancellationToken).ConfigureAwait(false)
            : FromLink(await Links.IsolateAsync(Environment.Region(region).Name, mode, cancellationToken).ConfigureAwait(false));

    /// <summary>Restores every link of a region to its documented latency, and clears its packet filter when it has rules.</summary>
    public async Task<TopologyOperation> HealRegionAsync(string region, CancellationToken cancellationToken = default)
    {
        var name = Environment.Region(region).Name;
        var links = FromLink(await Links.HealAsync(name, cancellationToken).ConfigureAwait(false));
        RegionPacketFilter? filter;
        lock (_packetFilters)
        {
            _packetFilters.TryGetValue(name, out filter);
        }

        if (filter is null || filter.IsClear)
        {
            return links;
        }

        var cleared = await filter.ClearAsync(cancellationToken).ConfigureAwait(false);
        return new TopologyOperation($"{links.What}; {cleared.What}", links.StartedAt, cleared.VerifiedAt);
    }

    /// <summary>
    /// Random loss on a region's network (containers only): each packet in and out dropped with the loss's probability,
    /// by the kernel inside the region's namespace. <see cref="HealRegionAsync"/> removes it.
    /// </summary>
    public Task<TopologyOperation> DropPacketsAsync(string region, PacketLoss loss, CancellationToken cancellationToken = default) =>
        PacketFilter(region).DropAsync(loss, cancellationToken);

    /// <summary>
    /// The packet filter inside <paramref name="region"/>'s own network namespace (containers only); on loopback this
    /// throws an <see cref="InvalidOperationException"/> saying to use the links instead.
    /// </summary>
    public RegionPacketFilter PacketFilter(string region)
    {
        var name = Environment.Region(region).Name;
        lock (_packetFilters)
        {
            if (!_packetFilters.TryGetValue(name, out var filter))
            {
                filter = RegionPacketFilter.For(Environment, Run, name);
                _packetFilters[name] = filter;
            }

            return filter;
        }
    }

    /// <summary>Partitions two regions from each other only; both still reach the third region.</summary>
    public async Task<TopologyOperation> IsolateBetweenAsync(string region, string other, IsolationMode mode = IsolationMode.Cut, CancellationToken cancellationToken = default) =>
        FromLink(await Links.IsolateBetweenAsync(region, other, mode, cancellationToken).ConfigureAwait(false));

    /// <summary>Undoes <see cref="IsolateBetweenAsync"/>.</summary>
    public async Task<TopologyOperation> HealBetweenAsync(string region, string other, CancellationToken cancellationToken = default) =>
        FromLink(await Links.HealBetweenAsync(region, other, cancellationToken).ConfigureAwait(false));

    /// <summary>Adds a toxic (latency, bandwidth, timeout, …) to one named link, e.g. lagos-abuja-pg.</summary>
    public async Task<TopologyOperation> ShapeLinkAsync(string link, ToxicSpec toxic, CancellationToken cancellationToken = default) =>
        FromLink(await Links.ShapeAsync(link, toxic, cancellationToken).ConfigureAwait(false));

    /// <summary>Removes the toxics <see cref="ShapeLinkAsync"/> added to one link (its documented latency stays).</summary>
    public async Task<TopologyOperation> UnshapeLinkAsync(string link, CancellationToken cancellationToken = default) =>
        FromLink(await Links.UnshapeAsync(link, cancellationToken).ConfigureAwait(false));

    /// <summary>Adds the same toxic to several links (e.g. every WAL link towards the replicas), one after another.</summary>
    public async Task<IReadOnlyList<TopologyOperation>> ShapeLinksAsync(IEnumerable<string> links, ToxicSpec toxic, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(links);
        var operations = new List<TopologyOperation>();
        foreach (var link in links)
        {
            operations.Add(await ShapeLinkAsync(link, toxic, cancellationToken).ConfigureAwait(false));
        }

        return operations;
    }

    /// <summary>Undoes <see cref="ShapeLinksAsync"/> (each link keeps its documented latency).</summary>
    public async Task<IReadOnlyList<TopologyOperation>> UnshapeLinksAsync(IEnumerable<string> links, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(links);
        var operations = new List<TopologyOperation>();
        foreach (var link in links)
        {
            operations.Add(await UnshapeLinkAsync(link, cancellationToken).ConfigureAwait(false));
        }

        return operations;
    }

    /// <summary>SIGSTOPs one node (its whole process group): alive but silent, as a hung server is.</summary>
    public async Task<TopologyOperation> PauseNodeAsync(string region, RegionNode node, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        if (node == RegionNode.Postgres)
        {
            await Postgres.SetNodeFrozenAsync(region, frozen: true, cancellationToken).ConfigureAwait(false); // Patroni and PostgreSQL
        }
        else
        {
            await NodeProcess(region, node).PauseAsync(cancellationToken).ConfigureAwait(false);
        }

        return TopologyOperation.Since($"pause {region}'s {node.ToString().ToLowerInvariant()}", started);
    }

    /// <summary>SIGCONTs a paused node.</summary>
    public async Task<TopologyOperation> ResumeNodeAsync(string region, RegionNode node, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        if (node == RegionNode.Postgres)
        {
            await Postgres.SetNodeFrozenAsync(region, frozen: false, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await NodeProcess(region, node).ResumeAsync(cancellationToken).ConfigureAwait(false);
        }

        return TopologyOperation.Since($"resume {region}'s {node.ToString().ToLowerInvariant()}", started);
    }

    /// <summary>
    /// SIGSTOPs every running process of a region (each whole process group) at once: a region that hangs without
    /// dying. Verified when every one of them is stopped; processes that had already exited are left as they are.
    /// </summary>
    public async Task<TopologyOperation> PauseRegionAsync(string region, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(ProcessesOf(region).Where(process => !process.HasExited).Select(process => process.PauseAsync(cancellationToken))).ConfigureAwait(false);
        await Postgres.SetNodeFrozenAsync(region, frozen: true, cancellationToken).ConfigureAwait(false); // PostgreSQL lives outside Patroni's group
        return TopologyOperation.Since($"pause every process of {region} (SIGSTOP)", started);
    }

    /// <summary>SIGCONTs every paused process of a region; verified when none of them is stopped any more.</summary>
    public async Task<TopologyOperation> ResumeRegionAsync(string region, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        await Postgres.SetNodeFrozenAsync(region, frozen: false, cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(ProcessesOf(region).Where(process => process.IsPaused).Select(process => process.ResumeAsync(cancellationToken))).ConfigureAwait(false);
        return TopologyOperation.Since($"resume every process of {region} (SIGCONT)", started);
    }

    /// <summary>
    /// Brings a lost or isolated region back as a replica region (the first step of the documented recovery): its host
    /// brought back first where it was lost with the region (containers: started again with the same addresses, its
    /// servers placed in its new network namespace), its links restored, its SIP proxy and engine restarted if down,
    /// its etcd member and Patroni started again if down (Patroni rewinds PostgreSQL into a standby of the current
    /// primary), its Redis (and Sentinel) a replica of the current master, and the balancer reporting it up again.
    /// </summary>
    public async Task<IReadOnlyList<TopologyOperation>> RejoinRegionAsync(string region, CancellationToken cancellationToken = default)
    {
        var name = Environment.Region(region).Name;
        var steps = new List<TopologyOperation>();
        var started = Stopwatch.GetTimestamp();
        if (_regionHosts is not null && await _regionHosts.RestoreAsync(name, cancellationToken).ConfigureAwait(false))
        {
            steps.Add(TopologyOperation.Since($"{name}'s host (container) back: same addresses and routes, new network namespace", started));
            lock (_packetFilters)
            {
                // Its rules died with the old namespace: a filter made from now on starts empty in the new one.
                _packetFilters.Remove(name);
            }
        }

        steps.Add(await HealRegionAsync(name, cancellationToken).ConfigureAwait(false));
        started = Stopwatch.GetTimestamp();
        if (Sip.Engines[name].HasExited)
        {
            await Sip.RestartEngineAsync(name, cancellationToken).ConfigureAwait(false);
        }

        if (Sip.Proxies[name].HasExited)
        {
            await Sip.RestartProxyAsync(name, cancellationToken).ConfigureAwait(false);
        }

        await Sip.WaitUntilStateAsync(name, BalancerServerStatus.Up, BalancerTimeout, cancellationToken).ConfigureAwait(false);
        steps.Add(TopologyOperation.Since($"{name}'s SIP proxy and engine up, balancer reports it UP", started));
        if (Backups is not null && Backups.Servers[name].HasExited)
        {
            steps.Add(await Backups.RestartServerAsync(name, cancellationToken).ConfigureAwait(false));
        }

        steps.AddRange(await Task.WhenAll(
            Postgres.RejoinAsync(name, cancellationToken),
            Redis.RejoinAsReplicaAsync(name, cancellationToken)).ConfigureAwait(false));
        return steps;
    }

    /// <summary>
    /// The documented failback to <paramref name="region"/> (the environment's primary by default): rejoin it if it is
    /// not a replica yet, let it catch up, switch both stores over to it without losing an acknowledged write, and
    /// restore every balancer weight from the environment.
    /// </summary>
    public async Task<IReadOnlyList<TopologyOperation>> FailbackAsync(string? region = null, CancellationToken cancellationToken = default)
    {
        var target = region is null ? Environment.Primary : Environment.Region(region);
        var steps = new List<TopologyOperation>();
        if (ProcessesOf(target.Name).Any(process => process.HasExited))
        {
            steps.AddRange(await RejoinRegionAsync(target.Name, cancellationToken).ConfigureAwait(false));
        }

        if (await Postgres.PrimaryRegionAsync(BalancerTimeout, cancellationToken).ConfigureAwait(false) != target.Name)
        {
            steps.Add(await Postgres.SwitchoverToAsync(target.Name, cancellationToken).ConfigureAwait(false));
        }

        if ((await Redis.MasterRegionAsync(cancellationToken).ConfigureAwait(false)).Name != target.Name)
        {
            steps.Add(await Redis.FailoverToAsync(target.Name, cancellationToken).ConfigureAwait(false));
        }

        var started = Stopwatch.GetTimestamp();
        foreach (var each in Environment.Regions)
        {
            await Sip.SetWeightAsync(each.Name, each.Weight, cancellationToken).ConfigureAwait(false);
            await Sip.SetAdminStateAsync(each.Name, BalancerAdminState.Ready, cancellationToken).ConfigureAwait(false);
        }

        var states = await Sip.BalancerStatesAsync(cancellationToken).ConfigureAwait(false);
        var wrong = states.Where(state => state.Weight != Environment.Region(state.Region).Weight).Select(state => $"{state.Region} {state.Weight}").ToList();
        if (wrong.Count > 0)
        {
            throw new InvalidOperationException($"The balancer did not take the environment's weights back: {string.Join(", ", wrong)}.");
        }

        steps.Add(TopologyOperation.Since($"balancer weights back to {string.Join('/', Environment.Regions.Select(each => each.Weight))}", started));
        return steps;
    }

    /// <summary>
    /// Takes a backup now of <paramref name="stores"/> into <paramref name="repository"/> (game days): PostgreSQL with
    /// pgBackRest (<paramref name="type"/>) on the repository's host, Redis by the guide's procedure on the repository's
    /// region's node (RDB; its AOF with <c>backups.redis.appendonly</c>). One step per store, naming the backup, its size
    /// and the repository.
    /// </summary>
    /// <exception cref="InvalidOperationException">The topology runs without backups.</exception>
    /// <exception cref="BackupException">A backup could not be taken (the repository or the primary out of reach, …).</exception>
    public async Task<IReadOnlyList<TopologyOperation>> BackUpAsync(TopologyStores stores, PgBackRestBackupType type, string repository = "repo1", CancellationToken cancellationToken = default)
    {
        var (postgres, redis) = RequireBackups();
        var where = $"{repository} ({Environment.Backups.Repository(repository)?.Region}, {postgres.StoreOf(repository)})";
        var steps = new List<TopologyOperation>();
        if (stores.HasFlag(TopologyStores.Postgres))
        {
            var started = Stopwatch.GetTimestamp();
            var backup = await postgres.BackupAsync(type, repository, cancellationToken).ConfigureAwait(false);
            steps.Add(TopologyOperation.Since(string.Create(CultureInfo.InvariantCulture,
                $"PostgreSQL {backup.Set.Type.ToString().ToLowerInvariant()} backup {backup.Set.Label} into {where}: {Bytes(backup.Set.Size)} of data, {Bytes(backup.Set.RepositoryDelta)} stored"), started));
        }

        if (stores.HasFlag(TopologyStores.Redis))
        {
            var started = Stopwatch.GetTimestamp();
            var backup = Environment.Backups.Redis.AppendOnly
                ? await redis.BackupAofAsync(repository, cancellationToken).ConfigureAwait(false)
                : await redis.BackupRdbAsync(repository, cancellationToken).ConfigureAwait(false);
            steps.Add(TopologyOperation.Since(string.Create(CultureInfo.InvariantCulture,
                $"Redis {backup.Kind.ToString().ToUpperInvariant()} backup {backup.Label} into {where}: {backup.Keys} keys, {Bytes(backup.Bytes)}, SHA-256 {backup.Sha256[..16]}…"), started));
        }

        return steps;
    }

    /// <summary>
    /// Restores the latest backups of <paramref name="request"/>'s repository (and the WAL archived after, up to its target
    /// time) into new data directories of the run, and starts them on an address of their own beside the topology (see
    /// <see cref="RestoredCopy"/>), in the repository's region: PostgreSQL replayed and promoted, its writes table checked
    /// as the guide's step 4 asks (row count, md5 of the ids, amcheck), Redis checked (redis-check-rdb/aof, SHA-256) and
    /// loaded. Never over the topology's data; a restore that fails stops what it had started and removes its directories.
    /// The copy runs until the topology is disposed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The topology runs without backups.</exception>
    /// <exception cref="BackupException">No backup, a corrupted one, a repository out of reach, …</exception>
    public async Task<RestoredCopy> RestoreCopyAsync(RestoreCopyRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (postgres, redis) = RequireBackups();
        var region = Environment.Region(Environment.Backups.Repository(request.Repository)?.Region
            ?? throw new ArgumentException($"No backup repository '{request.Repository}' in environment {Environment.Name}.", nameof(request)));
        var (number, address) = NextCopy(region);
        if (_regionHosts is not null)
        {
            // The region is a host of its own: the copy's address goes on it, and its servers start in its namespace.
            await _regionHosts.AddAddressAsync(region.Name, address, cancellationToken).ConfigureAwait(false);
        }

        var steps = new List<TopologyOperation>();
        RestoredPostgres? restoredPostgres = null;
        RestoredRedis? restoredRedis = null;
        WritesTableState? table = null;
        var directory = Run.PathOf(string.Create(CultureInfo.InvariantCulture, $"restored-{number}-postgres"));
        try
        {
            if (request.Stores.HasFlag(TopologyStores.Postgres))
            {
                var started = Stopwatch.GetTimestamp();
                var restore = await postgres.RestoreAsync(new PostgresRestoreRequest(region.Name, directory)
                {
                    Repository = request.Repository,
                    Target = request.TargetTime is { } time ? RecoveryTarget.At(time) : RecoveryTarget.EndOfArchive,
                }, cancellationToken).ConfigureAwait(false);
                steps.Add(TopologyOperation.Since($"pgBackRest restored PostgreSQL backup {restore.Set} from {request.Repository} into {directory}", started));

                started = Stopwatch.GetTimestamp();
                restoredPostgres = await RestoredPostgres.StartAsync(Environment, Run, restore, new IPEndPoint(address, region.Postgres.Port), cancellationToken: cancellationToken).ConfigureAwait(false);
                steps.Add(TopologyOperation.Since($"restored PostgreSQL at {restoredPostgres.EndPoint} replayed to {restore.Target} and promoted", started));

                started = Stopwatch.GetTimestamp();
                table = await WritesTableCheck.CheckAsync(restoredPostgres.ConnectionString, cancellationToken).ConfigureAwait(false);
                steps.Add(TopologyOperation.Since(string.Create(CultureInfo.InvariantCulture,
                    $"integrity: {WritesTableCheck.Table} {table.Rows} rows ({table.DistinctIds} distinct ids), md5 of the ids {table.Checksum}, amcheck {(table.Problems.Count == 0 ? "clean" : string.Join("; ", table.Problems))}"), started));

                started = Stopwatch.GetTimestamp();
                var verification = await postgres.VerifyAsync(request.Repository, cancellationToken).ConfigureAwait(false);
                steps.Add(TopologyOperation.Since(verification.IsValid
                    ? $"integrity: pgBackRest verify of {request.Repository}: every backup file and archived WAL segment matches its checksum"
                    : $"integrity: pgBackRest verify of {request.Repository} found damage{(verification.InvalidBackups.Count == 0 ? string.Empty : $" in {string.Join(", ", verification.InvalidBackups)}")} (INVALID)", started));
            }

            if (request.Stores.HasFlag(TopologyStores.Redis))
            {
                var started = Stopwatch.GetTimestamp();
                var backup = request.TargetTime is { } time
                    ? redis.LatestAtOrBefore(request.Repository, time)
                      ?? throw new BackupException(BackupProblem.NoBackup, string.Create(CultureInfo.InvariantCulture,
                          $"No Redis backup in {request.Repository} was saved at or before {time.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC: choose a later target time."))
                    : redis.Latest(request.Repository);
                restoredRedis = await redis.RestoreAsync(backup, region.Name, new IPEndPoint(address, region.Redis.Port), cancellationToken).ConfigureAwait(false);
                var keys = await restoredRedis.KeyCountAsync(cancellationToken).ConfigureAwait(false);
                steps.Add(TopologyOperation.Since(string.Create(CultureInfo.InvariantCulture,
                    $"Redis {backup.Kind.ToString().ToUpperInvariant()} backup {backup.Label} from {request.Repository} checked ({(backup.Kind == RedisBackupKind.Rdb ? "redis-check-rdb" : "redis-check-aof")}, SHA-256 {backup.Sha256[..16]}… as stored) and loaded at {restoredRedis.EndPoint}: {keys} keys{(keys == backup.Keys ? ", as many as backed up" : $", MISMATCH: {backup.Keys} backed up")}"), started));
            }
        }
        catch
        {
            if (restoredRedis is not null)
            {
                await restoredRedis.DisposeAsync().ConfigureAwait(false);
            }

            if (restoredPostgres is not null)
            {
                await restoredPostgres.DisposeAsync().ConfigureAwait(false);
            }

            RemoveDirectories(directory, directory + "-socket");
            throw;
        }

        var copy = new RestoredCopy(number, address, restoredPostgres, table, restoredRedis, steps);
        lock (_copies)
        {
            _copies.Add(copy);
        }

        return copy;
    }

    /// <summary>The copies <see cref="RestoreCopyAsync"/> started, oldest first.</summary>
    public IReadOnlyList<RestoredCopy> RestoredCopies
    {
        get
        {
            lock (_copies)
            {
                return [.. _copies];
            }
        }
    }

    /// <summary>Every node of every region now: its role, health, and replication position.</summary>
    public async Task<TopologyStatus> StatusAsync(CancellationToken cancellationToken = default)
    {
        var postgres = Postgres.StatusAsync(cancellationToken);
        var redis = Redis.StatusAsync(cancellationToken);
        var balancer = Sip.BalancerStatesAsync(cancellationToken);
        await Task.WhenAll(postgres, redis, balancer).ConfigureAwait(false);
        return TopologyStatus.From(Environment, Sip, balancer.Result, postgres.Result, redis.Result);
    }

    /// <summary>Stops everything: processes (their groups), the switchboard, the link server; removes the run directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (PriorityFailover is not null)
            {
                await PriorityFailover.DisposeAsync().ConfigureAwait(false);
            }

            if (RestoredCopies.Count > 0)
            {
                await _shutdown.TimeAsync("stop: restored copies", async () =>
                {
                    foreach (var copy in RestoredCopies)
                    {
                        await copy.DisposeAsync().ConfigureAwait(false);
                    }
                }).ConfigureAwait(false);
            }

            await _shutdown.TimeAsync("stop: SIP tier killed", () => Sip.DisposeAsync().AsTask()).ConfigureAwait(false);
            await _shutdown.TimeAsync("stop: PostgreSQL tier killed (Patroni, PostgreSQL, etcd, shared memory)", () => Postgres.DisposeAsync().AsTask()).ConfigureAwait(false);
            if (Backups is not null)
            {
                await _shutdown.TimeAsync("stop: backups", () => Backups.DisposeAsync().AsTask()).ConfigureAwait(false);
            }

            await _shutdown.TimeAsync("stop: run directory (remaining processes, files)", () => Run.DisposeAsync().AsTask()).ConfigureAwait(false);
        }
        finally
        {
            var step = Stopwatch.GetTimestamp();
            await _switchboard.DisposeAsync().ConfigureAwait(false);
            _linkClient.Dispose();
            await LinkServer.DisposeAsync().ConfigureAwait(false);
            _shutdown.Record("stop: switchboard and link server", step);
            if (_regionHosts is not null)
            {
                // Last: every server of every region has stopped, so nothing keeps a region's network namespace alive.
                await _shutdown.TimeAsync("stop: region hosts (containers, networks)", () => _regionHosts.DisposeAsync().AsTask()).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A tier's start that, when it fails, cancels the tiers starting beside it (they would only be torn down).</summary>
    private static async Task<T> CancelOthersOnFailure<T>(Task<T> start, CancellationTokenSource others)
    {
        try
        {
            return await start.ConfigureAwait(false);
        }
        catch
        {
            await others.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    private (PostgresBackups Postgres, RedisBackups Redis) RequireBackups() =>
        Backups is not null && RedisBackups is not null
            ? (Backups, RedisBackups)
            : throw new InvalidOperationException(
                $"The {Environment.Name} topology runs without backups (its environment's backups section is missing or says enabled: false): set backups.enabled: true and start it again.");

    /// <summary>
    /// The next copy's number and address: host 50 + n of the region's block (below the links' gateways), the first whose
    /// PostgreSQL and Redis ports are both free and whose data directory does not exist yet.
    /// </summary>
    private (int Number, IPAddress Address) NextCopy(RegionDefinition region)
    {
        for (var number = 1; SpareHost + number - 1 < InterRegionLinkPlan.FirstGatewayHost; number++)
        {
            var bytes = region.AddressBlock.BaseAddress.GetAddressBytes();
            bytes[3] = (byte)(SpareHost + number - 1);
            var address = new IPAddress(bytes);
            // On a host of its own (containers) the address is not this machine's to try binding: the copies' directories
            // number them.
            if (!Directory.Exists(Run.PathOf(string.Create(CultureInfo.InvariantCulture, $"restored-{number}-postgres")))
                && (_regionHosts is not null || (!IsTcpTaken(new IPEndPoint(address, region.Postgres.Port)) && !IsTcpTaken(new IPEndPoint(address, region.Redis.Port)))))
            {
                return (number, address);
            }
        }

        throw new InvalidOperationException(
            $"No spare address left in {region.Name}'s block {region.AddressBlock} for another restored copy (hosts {SpareHost}–{InterRegionLinkPlan.FirstGatewayHost - 1} are taken): stop the topology to free them.");
    }

    private static void RemoveDirectories(params string[] directories)
    {
        foreach (var directory in directories.Where(Directory.Exists))
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Left for the run directory's removal.
            }
        }
    }

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:F1} MB"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e3:F1} kB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    private TimeSpan BalancerTimeout => TimeSpan.FromSeconds(10) + (Environment.Balancer.HealthCheck.RecoveryTime * 2);

    private static TopologyOperation FromLink(LinkOperation operation) => new(operation.What, operation.StartedAt, operation.VerifiedAt);

    private static void CheckPrerequisites(EnvironmentDefinition environment, RunDirectory run, LocalTopologyOptions options)
    {
        var specs = new List<ProcessSpec>();
        specs.AddRange(PostgresTier.SpecsFor(environment, run));
        specs.AddRange(RedisTier.SpecsFor(environment, run));
        specs.AddRange(SipProxyTier.SpecsFor(environment, run, options.Engines));
        if (options.WithBackups)
        {
            specs.AddRange(PostgresBackups.SpecsFor(environment, run));
        }

        try
        {
            ProcessSpec.EnsureInstalled(specs);
        }
        catch (ServerProcessException exception)
        {
            throw new TopologyStartException($"{exception.Message} Nothing was started.", exception);
        }
    }

    /// <summary>Every address the topology binds must be free: a second topology on the same blocks is refused up front.</summary>
    private static void CheckAddressesFree(EnvironmentDefinition environment, LocalTopologyOptions options)
    {
        // In containers, the regions' addresses live on networks this run makes; only this machine's own are checked.
        var regions = environment.Hosts == RegionHosting.Containers ? [] : environment.Regions;
        // The balancer's access links (when on) listen where the balancer sends each region's SIP (in containers on the
        // regions' networks, made by this run).
        var access = environment.Hosts == RegionHosting.Containers ? [] : BalancerAccessLinkPlan.For(environment);
        var endpoints = regions.SelectMany(region => region.Bindings())
            .Where(binding => binding.Protocol == TransportProtocol.Tcp)
            .Select(binding => binding.EndPoint)
            .Append(environment.Balancer.SipEndPoint)
            .Concat(access.Where(link => link.Protocol == TransportProtocol.Tcp).Select(link => link.Listen));
        if (options.LinkApiEndpoint.Port != 0)
        {
            endpoints = endpoints.Append(options.LinkApiEndpoint);
        }

        // UDP too: the engines and the proxies listen on UDP, and a squatter there would only show later (or not at
        // all: the engine's readiness looks for the port in /proc/net/udp, which the squatter's socket satisfies).
        var udp = regions.SelectMany(region => new[] { region.Sip.UdpEndPoint, region.Engine.EndPoint })
            .Concat(environment.Balancer.Transport == BalancerTransport.Udp ? [environment.Balancer.SipEndPoint] : [])
            .Concat(access.Where(link => link.Protocol == TransportProtocol.Udp).Select(link => link.Listen));
        var taken = endpoints.Where(IsTcpTaken).Select(endpoint => endpoint.ToString())
            .Concat(udp.Where(IsUdpTaken).Select(endpoint => $"{endpoint} (udp)"))
            .ToList();
        if (taken.Count > 0)
        {
            throw new TopologyStartException(
                $"Addresses the {environment.Name} topology needs are already in use: {string.Join(", ", taken)}. " +
                "Another topology is probably up: stop it with ./resilience down (or free those ports). Nothing was started.");
        }
    }

    private static bool IsTcpTaken(IPEndPoint endpoint) => IsTaken(endpoint, SocketType.Stream, ProtocolType.Tcp);

    private static bool IsUdpTaken(IPEndPoint endpoint) => IsTaken(endpoint, SocketType.Dgram, ProtocolType.Udp);

    private static bool IsTaken(IPEndPoint endpoint, SocketType type, ProtocolType protocol)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
        if (protocol == ProtocolType.Tcp)
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true); // TIME_WAIT is not "in use"
        }

        try
        {
            socket.Bind(endpoint);
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }
}

/// <summary>One kind of server in a region.</summary>
public enum RegionNode
{
    /// <summary>The SIP proxy (Kamailio).</summary>
    Sip,

    /// <summary>The ACM engine (stand-in).</summary>
    Engine,

    /// <summary>The Redis node.</summary>
    Redis,

    /// <summary>The region's Sentinel.</summary>
    Sentinel,

    /// <summary>The PostgreSQL node (its Patroni; pausing it freezes PostgreSQL too).</summary>
    Postgres,

    /// <summary>The region's etcd member.</summary>
    Etcd,
}

/// <summary>How to start a <see cref="LocalTopology"/>.</summary>
public sealed record LocalTopologyOptions
{
    /// <summary>Where the link server's API listens (loopback only; port 0 picks a free one).</summary>
    public IPEndPoint LinkApiEndpoint { get; init; } = new(IPAddress.Loopback, 0);

    /// <summary>Where the run directory goes (defaults: /dev/shm/voxguard-resilience).</summary>
    public RunDirectoryOptions? RunDirectory { get; init; }

    /// <summary>What answers calls behind each region's proxy (default: the SIPp stand-in, no data path).</summary>
    public IEngineLauncher Engines { get; init; } = SippEngineLauncher.Instance;

    /// <summary>Told about each start step as it completes (for live progress).</summary>
    public Action<TopologyOperation>? Progress { get; init; }

    /// <summary>
    /// Backups on (default off): pgBackRest's TLS servers, PostgreSQL archiving into the environment's repositories from
    /// the start (<c>backups</c> section), the stanza created and checked; see <see cref="LocalTopology.Backups"/>.
    /// </summary>
    public bool Backups { get; init; }

    /// <summary>
    /// A topology rebuilt from the environment's backups (default null: a fresh, empty one) — the guide's full system
    /// recovery with all regions down. The primary region's PostgreSQL is bootstrapped by Patroni from the repository's
    /// latest pgBackRest backup and the WAL archived after it (the others clone it), and its Redis loads the repository's
    /// latest RDB (its AOF with <c>backups.redis.appendonly</c>; the replicas sync from it). Implies <see cref="Backups"/>.
    /// The repositories must have outlived the topology that filled them: give them a <c>path</c> in the environment.
    /// </summary>
    public TopologyRestore? RestoreFrom { get; init; }

    /// <summary>
    /// Makes the regions' hosts of an environment with <c>hosts: containers</c> (required there; ignored on loopback).
    /// The CLI and the scenarios give <c>ContainerRegionHosts</c>.
    /// </summary>
    public IRegionHostProvider? RegionHosts { get; init; }

    /// <summary>Backups on, asked for or implied by a restore.</summary>
    internal bool WithBackups => Backups || RestoreFrom is not null;
}

/// <summary>Where a rebuilt topology's data comes from.</summary>
/// <param name="Repository">The backup repository (repo1: the guide's object storage in Lagos).</param>
public sealed record TopologyRestore(string Repository = "repo1");

/// <summary>The topology could not start; the message names the problem and the fix.</summary>
public sealed class TopologyStartException(string message, Exception? innerException = null) : Exception(message, innerException);

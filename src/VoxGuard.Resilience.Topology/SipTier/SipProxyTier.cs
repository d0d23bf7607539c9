using System.Globalization;
using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.SipTier;

/// <summary>
/// The SIP side of the three-region topology: per region an engine stand-in (<see cref="EngineStandIn"/>, SIPp UAS over
/// UDP) behind a Kamailio SIP proxy (<see cref="KamailioConfig.For"/>), and one global balancer in front of the proxies —
/// HAProxy over TCP (<see cref="HaproxyConfig"/>) or Kamailio's dispatcher over UDP (<see cref="KamailioConfig.BalancerFor"/>),
/// as <see cref="BalancerDefinition.Transport"/> says. Every reply a caller gets from a region carries
/// <see cref="RegionHeader"/>.
/// </summary>
/// <remarks>
/// Every process belongs to the <see cref="RunDirectory"/> it was started in: disposing the tier kills them, and so does
/// disposing the run. Processes: <c>&lt;region&gt;-engine</c>, <c>&lt;region&gt;-kamailio</c>, <see cref="BalancerProcessName"/>.
/// </remarks>
public sealed class SipProxyTier : IAsyncDisposable
{
    /// <summary>The header every region's proxy stamps on the replies it passes back: <c>X-VoxGuard-Region: lagos</c>.</summary>
    public const string RegionHeader = "X-VoxGuard-Region";

    /// <summary>The balancer's control socket in the run directory (HAProxy's admin stats socket, or Kamailio's binrpc).</summary>
    public const string BalancerControlSocket = "sip-balancer.sock";

    /// <summary>The UDP balancer's dispatcher list in the run directory.</summary>
    public const string DispatcherListFile = "sip-balancer-dispatcher.list";

    /// <summary>The balancer's process name in the run.</summary>
    public const string BalancerProcessName = "sip-balancer";

    /// <summary>How often balancer states are polled while waiting (PROBES: 50 ms).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);

    private readonly RunDirectory _run;
    private readonly ISipBalancerControl _control;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, ManagedProcess> _proxies;
    private int _disposed;

    private SipProxyTier(EnvironmentDefinition environment, RunDirectory run, ISipBalancerControl control, TimeProvider time,
        Dictionary<string, ManagedProcess> proxies, IReadOnlyDictionary<string, ManagedProcess> engines, ManagedProcess balancer)
    {
        Environment = environment;
        _run = run;
        _control = control;
        _time = time;
        _proxies = proxies;
        Engines = engines;
        Balancer = balancer;
    }

    /// <summary>The environment the tier was started from.</summary>
    public EnvironmentDefinition Environment { get; }

    /// <summary>The Kamailio proxy of each region, by region name (the latest process after <see cref="RestartProxyAsync"/>).</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Proxies
    {
        get
        {
            lock (_proxies)
            {
                return new Dictionary<string, ManagedProcess>(_proxies, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The engine stand-in of each region, by region name.</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Engines { get; }

    /// <summary>The global balancer's process (HAProxy, or Kamailio with the dispatcher).</summary>
    public ManagedProcess Balancer { get; }

    /// <summary>Where callers send SIP: the balancer's address and port, over <see cref="BalancerDefinition.Transport"/>.</summary>
    public IPEndPoint SipEndPoint => Environment.Balancer.SipEndPoint;

    /// <summary>The spec of a region's Kamailio: foreground (<c>-DD -E</c>), PID file and working directory absolute.</summary>
    public static ProcessSpec ProxySpecFor(RunDirectory run, RegionDefinition region)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(region);
        var name = $"{region.Name}-kamailio";
        return KamailioSpec(run, name);
    }

    /// <summary>The spec of the global balancer: HAProxy (<c>-db</c>, foreground) for TCP, Kamailio's dispatcher for UDP.</summary>
    public static ProcessSpec BalancerSpecFor(EnvironmentDefinition environment, RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        return environment.Balancer.Transport == BalancerTransport.Udp
            ? KamailioSpec(run, BalancerProcessName)
            : new ProcessSpec(BalancerProcessName, "haproxy", "haproxy")
            {
                Arguments = ["-db", "-f", run.PathOf($"{BalancerProcessName}.cfg")],
            };
    }

    /// <summary>Every process spec of the tier, for checking prerequisites before anything starts.</summary>
    public static IReadOnlyList<ProcessSpec> SpecsFor(EnvironmentDefinition environment, RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        var specs = new List<ProcessSpec>();
        specs.AddRange(environment.Regions.Select(region => EngineStandIn.SpecFor(run, region)));
        specs.AddRange(environment.Regions.Select(region => ProxySpecFor(run, region)));
        specs.Add(BalancerSpecFor(environment, run));
        if (environment.Balancer.Transport == BalancerTransport.Udp)
        {
            specs.Add(new ProcessSpec("sip-balancer-control", DispatcherControl.Kamcmd, "kamailio"));
        }

        return specs;
    }

    /// <summary>
    /// Checks that every program is installed, then starts the engines, the proxies and the balancer, and returns once
    /// the balancer reports every region up after a passed health check (HAProxy: UP and L7OK; dispatcher: active after
    /// starting inactive).
    /// </summary>
    /// <exception cref="ServerProcessException">A program is missing (nothing was started), or a process exited or did
    /// not get ready.</exception>
    public static async Task<SipProxyTier> StartAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        ProcessSpec.EnsureInstalled(SpecsFor(environment, run));
        var time = TimeProvider.System;

        await EngineStandIn.WriteFilesAsync(run, cancellationToken).ConfigureAwait(false);
        var engines = new Dictionary<string, ManagedProcess>(StringComparer.Ordinal);
        foreach (var region in environment.Regions)
        {
            var engine = await run.StartProcessAsync(EngineStandIn.SpecFor(run, region), cancellationToken).ConfigureAwait(false);
            engines[region.Name] = engine;
        }

        foreach (var region in environment.Regions)
        {
            var endpoint = region.Engine.EndPoint;
            await engines[region.Name].WaitUntilReadyAsync(
                WaitStrategy.Until($"UDP {endpoint} to be bound", _ => Task.FromResult(UdpSockets.IsBound(endpoint))).WithTimeout(ReadyTimeout),
                cancellationToken).ConfigureAwait(false);
        }

        var proxies = new Dictionary<string, ManagedProcess>(StringComparer.Ordinal);
        foreach (var region in environment.Regions)
        {
            await File.WriteAllTextAsync(run.PathOf($"{region.Name}-kamailio.cfg"), KamailioConfig.For(environment, run, region), cancellationToken).ConfigureAwait(false);
            proxies[region.Name] = await StartProxyProcessAsync(run, region, cancellationToken).ConfigureAwait(false);
        }

        ManagedProcess balancer;
        ISipBalancerControl control;
        if (environment.Balancer.Transport == BalancerTransport.Udp)
        {
            await File.WriteAllTextAsync(run.PathOf(DispatcherListFile), KamailioConfig.DispatcherList(environment), cancellationToken).ConfigureAwait(false);
            await File.WriteAllTextAsync(run.PathOf($"{BalancerProcessName}.cfg"), KamailioConfig.BalancerFor(environment, run), cancellationToken).ConfigureAwait(false);
            balancer = await run.StartProcessAsync(BalancerSpecFor(environment, run), cancellationToken).ConfigureAwait(false);
            control = new DispatcherControl(environment, run);
        }
        else
        {
            await File.WriteAllTextAsync(run.PathOf($"{BalancerProcessName}.cfg"), HaproxyConfig.For(environment, run), cancellationToken).ConfigureAwait(false);
            balancer = await run.StartProcessAsync(BalancerSpecFor(environment, run), cancellationToken).ConfigureAwait(false);
            control = new HaproxyControl(run.PathOf(BalancerControlSocket));
        }

        var tier = new SipProxyTier(environment, run, control, time, proxies, engines, balancer);
        await balancer.WaitUntilReadyAsync(WaitStrategy.UntilFileExists(run.PathOf(BalancerControlSocket)).WithTimeout(ReadyTimeout), cancellationToken).ConfigureAwait(false);
        var regions = environment.Regions.Count;
        await balancer.WaitUntilReadyAsync(
            WaitStrategy.Until(
                string.Create(CultureInfo.InvariantCulture, $"the balancer to report all {regions} regions up after a passed SIP OPTIONS check"),
                async cancel =>
                {
                    var states = await tier._control.StatesAsync(cancel).ConfigureAwait(false);
                    return states.Count == regions && states.All(state => state.IsUp && state.CheckStatus is "L7OK" or "AP");
                })
                .WithTimeout(ReadyTimeout + (environment.Balancer.HealthCheck.RecoveryTime * 2))
                .WithInterval(PollInterval),
            cancellationToken).ConfigureAwait(false);
        return tier;
    }

    /// <summary>Every region as the balancer sees it now, in the environment's order.</summary>
    public Task<IReadOnlyList<BalancerServerState>> BalancerStatesAsync(CancellationToken cancellationToken = default) =>
        _control.StatesAsync(cancellationToken);

    /// <summary>The balancer's state of one region now.</summary>
    public async Task<BalancerServerState> BalancerStateAsync(string region, CancellationToken cancellationToken = default)
    {
        var name = Environment.Region(region).Name;
        var states = await _control.StatesAsync(cancellationToken).ConfigureAwait(false);
        return states.Single(state => state.Region == name);
    }

    /// <summary>
    /// Changes a region's weight in the running balancer (HAProxy <c>set weight</c>; dispatcher: list rewritten and
    /// reloaded, states kept). 0 takes it out of rotation without marking it down.
    /// </summary>
    public Task SetWeightAsync(string region, int weight, CancellationToken cancellationToken = default) =>
        SetWeightsAsync(new Dictionary<string, int>(StringComparer.Ordinal) { [region] = weight }, cancellationToken);

    /// <summary>Changes several regions' weights at once (the dispatcher reloads once), by region name; each 0–256.</summary>
    public async Task SetWeightsAsync(IReadOnlyDictionary<string, int> weights, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var checkedWeights = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (region, weight) in weights)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(weight, nameof(weights));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(weight, 256, nameof(weights));
            checkedWeights[Environment.Region(region).Name] = weight;
        }

        await _control.SetWeightsAsync(checkedWeights, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Puts a region in service, drains it (no new calls), or takes it out for maintenance.</summary>
    public Task SetAdminStateAsync(string region, BalancerAdminState state, CancellationToken cancellationToken = default) =>
        _control.SetAdminStateAsync(Environment.Region(region).Name, state, cancellationToken);

    /// <summary>
    /// Polls the balancer every <see cref="PollInterval"/> until it reports <paramref name="region"/> in
    /// <paramref name="status"/>; returns the <see cref="TimeProvider.GetTimestamp"/> of the poll that saw it (compare with a
    /// <see cref="ProcessExit.ExitedAt"/> for time to detection).
    /// </summary>
    /// <exception cref="TimeoutException">Not seen within <paramref name="timeout"/>; the message has the last state.</exception>
    public async Task<long> WaitUntilStateAsync(string region, BalancerServerStatus status, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var name = Environment.Region(region).Name;
        BalancerServerState? last = null;
        long seen = 0;
        try
        {
            await WaitStrategy.UntilAsync(
                async cancel =>
                {
                    last = await BalancerStateAsync(name, cancel).ConfigureAwait(false);
                    seen = _time.GetTimestamp();
                    return last.Status == status;
                },
                timeout, PollInterval, $"the balancer to report {name} {status}", cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException exception)
        {
            throw new TimeoutException($"{exception.Message.TrimEnd('.')}; last seen: {last?.RawStatus ?? "nothing"} (check {last?.CheckStatus ?? "-"}).", exception);
        }

        return seen;
    }

    /// <summary>
    /// Starts a region's Kamailio again after it was killed or stopped (same configuration) and returns once its TCP
    /// port is open; the balancer marks it up after <see cref="HealthCheck.Rise"/> passed checks
    /// (<see cref="WaitUntilStateAsync"/>).
    /// </summary>
    public async Task<ManagedProcess> RestartProxyAsync(string region, CancellationToken cancellationToken = default)
    {
        var definition = Environment.Region(region);
        var process = await StartProxyProcessAsync(_run, definition, cancellationToken).ConfigureAwait(false);
        lock (_proxies)
        {
            _proxies[definition.Name] = process;
        }

        return process;
    }

    /// <summary>Kills the balancer, the proxies and the engines (their process groups). Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Balancer.DisposeAsync().ConfigureAwait(false);
        foreach (var process in Proxies.Values.Concat(Engines.Values))
        {
            await process.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<ManagedProcess> StartProxyProcessAsync(RunDirectory run, RegionDefinition region, CancellationToken cancellationToken)
    {
        var process = await run.StartProcessAsync(ProxySpecFor(run, region), cancellationToken).ConfigureAwait(false);
        await process.WaitUntilReadyAsync(WaitStrategy.UntilTcpPortOpen(region.Sip.TcpEndPoint).WithTimeout(ReadyTimeout), cancellationToken).ConfigureAwait(false);
        return process;
    }

    private static ProcessSpec KamailioSpec(RunDirectory run, string name) =>
        new(name, "kamailio", "kamailio")
        {
            Arguments =
            [
                "-DD", "-E",
                "-f", run.PathOf($"{name}.cfg"),
                // Not <name>.pid: that is the run directory's record of the process.
                "-P", run.PathOf($"{name}.kamailio-pid"),
                "-w", run.Path,
                "-m", "32",
                "-M", "4",
            ],
        };
}

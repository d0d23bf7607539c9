using System.Diagnostics;
using System.Globalization;
using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.SipTier;

/// <summary>
/// The SIP side of the three-region topology: per region an engine stand-in (<see cref="EngineStandIn"/>, SIPp UAS over
/// UDP) behind a Kamailio SIP proxy (<see cref="KamailioConfig.For(EnvironmentDefinition, RunDirectory, RegionDefinition)"/>), and one global balancer in front of the proxies —
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

    /// <summary>
    /// The longest control-socket path HAProxy accepts (97 characters; a unix socket path is at most 108 bytes). The
    /// default run root (/dev/shm/voxguard-resilience/&lt;run-id&gt;/) gives about 70.
    /// </summary>
    public const int MaxControlSocketPath = 97;

    /// <summary>The UDP balancer's dispatcher list in the run directory.</summary>
    public const string DispatcherListFile = "sip-balancer-dispatcher.list";

    /// <summary>The balancer's process name in the run.</summary>
    public const string BalancerProcessName = "sip-balancer";

    /// <summary>
    /// How often balancer states are polled while waiting (docs/measured-facts.md, "Balancer state polling").
    /// </summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);

    private readonly RunDirectory _run;
    private readonly IEngineLauncher _engineLauncher;
    private readonly ISipBalancerControl _control;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, ManagedProcess> _proxies;
    private readonly Dictionary<string, ManagedProcess> _engines;
    private readonly Lock _processes = new();
    private int _disposed;

    private SipProxyTier(EnvironmentDefinition environment, RunDirectory run, IEngineLauncher engineLauncher, ISipBalancerControl control, TimeProvider time,
        Dictionary<string, ManagedProcess> proxies, Dictionary<string, ManagedProcess> engines, ManagedProcess balancer)
    {
        Environment = environment;
        _run = run;
        _engineLauncher = engineLauncher;
        _control = control;
        _time = time;
        _proxies = proxies;
        _engines = engines;
        Balancer = balancer;
    }

    /// <summary>The environment the tier was started from.</summary>
    public EnvironmentDefinition Environment { get; }

    /// <summary>The Kamailio proxy of each region, by region name (the latest process after <see cref="RestartProxyAsync"/>).</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Proxies
    {
        get
        {
            lock (_processes)
            {
                return new Dictionary<string, ManagedProcess>(_proxies, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The engine stand-in of each region, by region name (the latest process after <see cref="RestartEngineAsync"/>).</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Engines
    {
        get
        {
            lock (_processes)
            {
                return new Dictionary<string, ManagedProcess>(_engines, StringComparer.Ordinal);
            }
        }
    }

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
        return KamailioSpec(run, name, run.NetworkNamespaceOf(region.Name));
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
    public static IReadOnlyList<ProcessSpec> SpecsFor(EnvironmentDefinition environment, RunDirectory run, IEngineLauncher? engines = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        engines ??= SippEngineLauncher.Instance;
        var specs = new List<ProcessSpec>();
        specs.AddRange(environment.Regions.Select(region => engines.SpecFor(environment, run, region)));
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
    public static Task<SipProxyTier> StartAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken = default) =>
        StartAsync(environment, run, SippEngineLauncher.Instance, cancellationToken);

    /// <summary>As <see cref="StartAsync(EnvironmentDefinition, RunDirectory, CancellationToken)"/>, with the engines <paramref name="engines"/> starts.</summary>
    public static Task<SipProxyTier> StartAsync(EnvironmentDefinition environment, RunDirectory run, IEngineLauncher engines, CancellationToken cancellationToken = default) =>
        StartAsync(environment, run, engines, new PhaseTimings(), cancellationToken);

    /// <summary>
    /// As <see cref="StartAsync(EnvironmentDefinition, RunDirectory, IEngineLauncher, CancellationToken)"/>, timing each
    /// phase into <paramref name="phases"/>.
    /// </summary>
    public static async Task<SipProxyTier> StartAsync(EnvironmentDefinition environment, RunDirectory run, IEngineLauncher engines, PhaseTimings phases,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(engines);
        ArgumentNullException.ThrowIfNull(phases);
        ProcessSpec.EnsureInstalled(SpecsFor(environment, run, engines));
        var started = new List<ManagedProcess>();
        try
        {
            return await StartCoreAsync(environment, run, engines, started, phases, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // A tier that did not come up leaves nothing running (its run would kill it too, but only at its end).
            foreach (var process in started)
            {
                await process.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    private static async Task<SipProxyTier> StartCoreAsync(EnvironmentDefinition environment, RunDirectory run, IEngineLauncher engineLauncher,
        List<ManagedProcess> started, PhaseTimings phases, CancellationToken cancellationToken)
    {
        var step = Stopwatch.GetTimestamp();
        await engineLauncher.PrepareAsync(environment, run, cancellationToken).ConfigureAwait(false);
        var engines = new Dictionary<string, ManagedProcess>(StringComparer.Ordinal);
        foreach (var region in environment.Regions)
        {
            var engine = await run.StartProcessAsync(engineLauncher.SpecFor(environment, run, region), cancellationToken).ConfigureAwait(false);
            started.Add(engine);
            engines[region.Name] = engine;
        }

        foreach (var region in environment.Regions)
        {
            await WaitUntilEngineReadyAsync(engines[region.Name], region, cancellationToken).ConfigureAwait(false);
        }

        phases.Record("sip: every engine bound", step);
        step = Stopwatch.GetTimestamp();
        var proxies = new Dictionary<string, ManagedProcess>(StringComparer.Ordinal);
        await Task.WhenAll(environment.Regions.Select(async region =>
        {
            await File.WriteAllTextAsync(run.PathOf($"{region.Name}-kamailio.cfg"), KamailioConfig.For(environment, run, region), cancellationToken).ConfigureAwait(false);
            var proxy = await run.StartProcessAsync(ProxySpecFor(run, region), cancellationToken).ConfigureAwait(false);
            lock (started)
            {
                started.Add(proxy);
                proxies[region.Name] = proxy;
            }

            await WaitUntilProxyReadyAsync(proxy, region, cancellationToken).ConfigureAwait(false);
        })).ConfigureAwait(false);

        phases.Record("sip: every Kamailio proxy listening", step);
        step = Stopwatch.GetTimestamp();
        ISipBalancerControl control;
        if (environment.Balancer.Transport == BalancerTransport.Udp)
        {
            await File.WriteAllTextAsync(run.PathOf(DispatcherListFile), KamailioConfig.DispatcherList(environment), cancellationToken).ConfigureAwait(false);
            await File.WriteAllTextAsync(run.PathOf($"{BalancerProcessName}.cfg"), KamailioConfig.BalancerFor(environment, run), cancellationToken).ConfigureAwait(false);
            control = new DispatcherControl(environment, run);
        }
        else
        {
            await File.WriteAllTextAsync(run.PathOf($"{BalancerProcessName}.cfg"), HaproxyConfig.For(environment, run), cancellationToken).ConfigureAwait(false);
            control = new HaproxyControl(ControlSocketPath(run));
        }

        var balancer = await run.StartProcessAsync(BalancerSpecFor(environment, run), cancellationToken).ConfigureAwait(false);
        started.Add(balancer);
        var tier = new SipProxyTier(environment, run, engineLauncher, control, TimeProvider.System, proxies, engines, balancer);
        await balancer.WaitUntilReadyAsync(WaitStrategy.UntilFileExists(ControlSocketPath(run)).WithTimeout(ReadyTimeout), cancellationToken).ConfigureAwait(false);
        phases.Record("sip: balancer's control socket up", step);
        await phases.TimeAsync("sip: balancer reports every region UP", () => tier.WaitUntilEveryRegionUpAsync(cancellationToken)).ConfigureAwait(false);
        return tier;
    }

    /// <summary>
    /// Returns once the balancer reports every region up after a passed health check (HAProxy: UP and L7OK; dispatcher:
    /// active) — at once when it already does.
    /// </summary>
    /// <exception cref="ServerProcessException">The balancer exited, or not every region was up in time.</exception>
    public Task WaitUntilEveryRegionUpAsync(CancellationToken cancellationToken = default)
    {
        var regions = Environment.Regions.Count;
        return Balancer.WaitUntilReadyAsync(
            WaitStrategy.Until(
                string.Create(CultureInfo.InvariantCulture, $"the balancer to report all {regions} regions up after a passed SIP OPTIONS check"),
                async cancel =>
                {
                    var states = await _control.StatesAsync(cancel).ConfigureAwait(false);
                    return states.Count == regions && states.All(state => state.IsUp && state.CheckStatus is "L7OK" or "AP");
                })
                .WithTimeout(ReadyTimeout + (Environment.Balancer.HealthCheck.RecoveryTime * 2))
                .WithInterval(PollInterval),
            cancellationToken);
    }

    /// <summary>The balancer's control socket in <paramref name="run"/>; refuses a path too long for a unix socket.</summary>
    /// <exception cref="ArgumentException">The run directory's path is too long: choose a shorter run root.</exception>
    public static string ControlSocketPath(RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var path = run.PathOf(BalancerControlSocket);
        if (path.Length > MaxControlSocketPath)
        {
            var length = path.Length.ToString(CultureInfo.InvariantCulture);
            var limit = MaxControlSocketPath.ToString(CultureInfo.InvariantCulture);
            throw new ArgumentException(
                $"The SIP balancer's control socket {path} is {length} characters long; a unix socket path may have at most {limit} here. "
                + "Use a shorter run root (RunDirectoryOptions.Root), e.g. the default /dev/shm/voxguard-resilience.", nameof(run));
        }

        return path;
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
    /// <exception cref="TimeoutException">Not seen within <paramref name="timeout"/>; the message has the last state, or says
    /// that the balancer exited.</exception>
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
            var seenLast = Balancer.HasExited
                ? $"the balancer ({Balancer}) exited with code {Balancer.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "?"}"
                : $"last seen: {last?.RawStatus ?? "nothing"} (check {last?.CheckStatus ?? "-"})";
            throw new TimeoutException($"{exception.Message.TrimEnd('.')}; {seenLast}.", exception);
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
        var process = await _run.StartProcessAsync(ProxySpecFor(_run, definition), cancellationToken).ConfigureAwait(false);
        lock (_processes)
        {
            _proxies[definition.Name] = process;
        }

        await WaitUntilProxyReadyAsync(process, definition, cancellationToken).ConfigureAwait(false);
        return process;
    }

    /// <summary>
    /// Starts a region's engine stand-in again after it was killed or stopped and returns once its UDP port is bound.
    /// The balancer never saw it gone: its health checks are answered by the region's proxy.
    /// </summary>
    public async Task<ManagedProcess> RestartEngineAsync(string region, CancellationToken cancellationToken = default)
    {
        var definition = Environment.Region(region);
        var process = await _run.StartProcessAsync(_engineLauncher.SpecFor(Environment, _run, definition), cancellationToken).ConfigureAwait(false);
        lock (_processes)
        {
            _engines[definition.Name] = process;
        }

        await WaitUntilEngineReadyAsync(process, definition, cancellationToken).ConfigureAwait(false);
        return process;
    }

    /// <summary>Kills the balancer, the proxies and the engines (their process groups). Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // All at once: SIGKILL to every group, then each awaited.
        await Task.WhenAll(Proxies.Values.Concat(Engines.Values).Append(Balancer).Select(process => process.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    private static Task WaitUntilProxyReadyAsync(ManagedProcess proxy, RegionDefinition region, CancellationToken cancellationToken) =>
        proxy.WaitUntilReadyAsync(WaitStrategy.UntilTcpPortOpen(region.Sip.TcpEndPoint).WithTimeout(ReadyTimeout), cancellationToken);

    private static Task WaitUntilEngineReadyAsync(ManagedProcess engine, RegionDefinition region, CancellationToken cancellationToken)
    {
        var endpoint = region.Engine.EndPoint;
        return engine.WaitUntilReadyAsync(
            WaitStrategy.Until($"UDP {endpoint} to be bound", _ => Task.FromResult(UdpSockets.IsBound(endpoint, engine.Pid))).WithTimeout(ReadyTimeout),
            cancellationToken);
    }

    private static ProcessSpec KamailioSpec(RunDirectory run, string name, string? networkNamespace = null) =>
        new(name, "kamailio", "kamailio")
        {
            NetworkNamespace = networkNamespace,
            Arguments =
            [
                "-DD", "-E",
                "-f", run.PathOf($"{name}.cfg"),
                // Not <name>.pid: that is the run directory's record of the process.
                "-P", run.PathOf($"{name}.kamailio-pid"),
                "-w", run.Path,
                // Shared and private memory in MB. With 32/4, Lagos answered "500 server error (1/SL)" and dropped TCP
                // connections from ~250 CPS (one connection per call, 1 s hold); 128/16 carried 400 CPS cleanly
                // (docs/measured-facts.md, "Kamailio memory").
                "-m", "128",
                "-M", "16",
                // TLSF, Kamailio's production allocator (constant time). The default, q_malloc, is its debugging one
                // (DBG_SR_MEMORY in Debian's build): at 800 CPS qm_malloc alone was 13 % of both cores' samples
                // (docs/measured-facts.md, "Kamailio's allocator").
                "-x", "tlsf",
            ],
        };
}

using System.Diagnostics;
using System.Net.Http;
using System.Net.Sockets;
using System.Text.Json;
using DotNet.Testcontainers.Configurations;
using VoxGuard.Resilience.Containers.RegionHosts;
using VoxGuard.Resilience.Topology.Processes;
using WaitStrategy = VoxGuard.Resilience.Topology.Processes.WaitStrategy;

namespace VoxGuard.Resilience.Containers;

/// <summary>
/// The Docker-compatible engine a containers environment runs on: the one <c>DOCKER_HOST</c> names, else a Docker
/// daemon's socket, else Podman's API service started for this run (its socket in the run directory, the service a
/// process of the run: stopped with it, and reaped after a killed run like every other server).
/// </summary>
/// <remarks>
/// Testcontainers' resource reaper (Ryuk) needs its image from a registry, which cannot be reached here: it is switched
/// off, and every container of a run carries the label <see cref="RunLabel"/> instead, by which
/// <see cref="RemoveContainersOfRunAsync"/> removes them when the run ends and <see cref="ReapAbandonedAsync"/> removes
/// those of runs that died.
/// </remarks>
public sealed class ContainerEngine : IAsyncDisposable
{
    /// <summary>The label naming the run a container belongs to.</summary>
    public const string RunLabel = "io.voxguard.run";

    private const string DockerSocket = "/var/run/docker.sock";
    private static readonly TimeSpan ServiceReady = TimeSpan.FromSeconds(20);
    private readonly RunDirectory _run;

    private ContainerEngine(RunDirectory run, Uri endpoint, string name, bool podman)
    {
        _run = run;
        Endpoint = endpoint;
        Name = name;
        IsPodman = podman;
    }

    /// <summary>The engine's API endpoint (unix socket).</summary>
    public Uri Endpoint { get; }

    /// <summary>What it is, for people: "Podman 4.3.1 (API service started for this run)".</summary>
    public string Name { get; }

    /// <summary>Whether it is Podman (the container CLI for faults is then <c>podman</c>).</summary>
    public bool IsPodman { get; }

    /// <summary>The run whose containers this engine starts.</summary>
    public string RunId => _run.RunId;

    /// <summary>
    /// Finds or starts the engine for <paramref name="run"/>; throws <see cref="ContainerEngineException"/> naming what
    /// is missing and how to get it.
    /// </summary>
    public static async Task<ContainerEngine> StartAsync(RunDirectory run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        // No registry: Ryuk's image cannot be pulled (see remarks). What it would have removed after a killed run, the
        // next run removes here.
        TestcontainersSettings.ResourceReaperEnabled = false;
        await ReapAbandonedAsync(Path.GetDirectoryName(run.Path)!, cancellationToken).ConfigureAwait(false);
        if (Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } dockerHost)
        {
            var endpoint = new Uri(dockerHost);
            await RequireAnswerAsync(endpoint, $"DOCKER_HOST={dockerHost}", cancellationToken).ConfigureAwait(false);
            return new ContainerEngine(run, endpoint, $"the engine DOCKER_HOST names ({dockerHost})", podman: false);
        }

        if (File.Exists(DockerSocket) && await AnswersAsync(new Uri("unix://" + DockerSocket), cancellationToken).ConfigureAwait(false))
        {
            return new ContainerEngine(run, new Uri("unix://" + DockerSocket), $"Docker ({DockerSocket})", podman: false);
        }

        if (!File.Exists("/usr/bin/podman"))
        {
            throw new ContainerEngineException(
                "No container engine: DOCKER_HOST is not set, no Docker daemon answers on /var/run/docker.sock, and Podman is not installed. "
                + "Run ./resilience images build (it installs and configures Podman), or point DOCKER_HOST at a Docker engine.");
        }

        var socket = run.PathOf("podman.sock");
        var service = await run.StartProcessAsync(new ProcessSpec("podman-service", "/usr/bin/podman", "podman")
        {
            Arguments = ["system", "service", "--time=0", "unix://" + socket],
        }, cancellationToken).ConfigureAwait(false);
        var podmanEndpoint = new Uri("unix://" + socket);
        await service.WaitUntilReadyAsync(
            WaitStrategy.Until($"Podman's API to answer on {socket}", cancel => AnswersAsync(podmanEndpoint, cancel)).WithTimeout(ServiceReady),
            cancellationToken).ConfigureAwait(false);
        return new ContainerEngine(run, podmanEndpoint, $"Podman {await PodmanVersionAsync(cancellationToken).ConfigureAwait(false)} (API service started for this run, {socket})", podman: true);
    }

    /// <summary>Removes every container of this run (the label <see cref="RunLabel"/>), whatever its state.</summary>
    public Task RemoveContainersOfRunAsync(CancellationToken cancellationToken = default) =>
        RemoveAsync($"label={RunLabel}={_run.RunId}", cancellationToken);

    /// <summary>Removes one container (by name or id) and one network of this engine, through the CLI: it works after the run's API service stopped.</summary>
    internal static async Task RemoveAsync(string container, string network, CancellationToken cancellationToken = default)
    {
        await CliAsync(["rm", "--force", "--volumes", "--time", "0", container], cancellationToken).ConfigureAwait(false);
        await CliAsync(["network", "rm", "--force", network], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The ids of this run's containers, running or not.</summary>
    public async Task<IReadOnlyList<string>> ContainersOfRunAsync(CancellationToken cancellationToken = default)
    {
        var (_, output) = await CliAsync(["ps", "--all", "--quiet", "--filter", $"label={RunLabel}={_run.RunId}"], cancellationToken).ConfigureAwait(false);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>
    /// The network namespace of a running container, as a path <c>nsenter --net=</c> takes (the engine's own name for
    /// it: /run/netns/netns-… with Podman, /var/run/docker/netns/… with Docker); removed with the container.
    /// </summary>
    public async Task<string> NetworkNamespaceOfAsync(string containerId, CancellationToken cancellationToken = default)
    {
        var (exitCode, output) = await CliAsync(["inspect", "--format", "{{.NetworkSettings.SandboxKey}}", containerId], cancellationToken).ConfigureAwait(false);
        var path = output.Trim();
        return exitCode == 0 && path.StartsWith('/') && File.Exists(path)
            ? path
            : throw new ContainerEngineException($"Container {containerId} has no network namespace (inspect said '{path}'): it exited or was removed.");
    }

    /// <summary>
    /// Removes the containers, then the networks and volumes, of runs whose run directory is gone (their harness died and
    /// the run directory's reaper removed the rest): what Ryuk would have done. Returns how many it removed.
    /// </summary>
    public static async Task<int> ReapAbandonedAsync(string runRoot, CancellationToken cancellationToken = default)
    {
        if (!File.Exists("/usr/bin/podman"))
        {
            return 0;
        }

        // A container's and a volume's labels are a map; a network's (Podman 4.3) one "k=v,k=v" string.
        var reaped = await ReapAsync(["ps", "--all"], "{{.ID}} {{index .Labels \"" + RunLabel + "\"}}", ["rm", "--force", "--volumes"], runRoot, cancellationToken).ConfigureAwait(false)
            + await ReapAsync(["network", "ls"], "{{.Name}} {{.Labels}}", ["network", "rm", "--force"], runRoot, cancellationToken).ConfigureAwait(false)
            + await ReapAsync(["volume", "ls"], "{{.Name}} {{index .Labels \"" + RunLabel + "\"}}", ["volume", "rm", "--force"], runRoot, cancellationToken).ConfigureAwait(false);
        return reaped + await ReapLostRegionRoutesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes the blackhole routes of lost regions (<see cref="RegionHost.LoseAsync"/>) whose network is gone: what a
    /// harness that died during a region loss left on this machine.
    /// </summary>
    private static async Task<int> ReapLostRegionRoutesAsync(CancellationToken cancellationToken)
    {
        var (_, subnets) = await CliAsync(["network", "ls", "--format", "{{range .Subnets}}{{.Subnet}} {{end}}"], cancellationToken).ConfigureAwait(false);
        var networks = subnets.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        using var routes = JsonDocument.Parse(await RegionHostContainers.IpAsync(["-j", "route", "show", "type", "blackhole"], cancellationToken).ConfigureAwait(false));
        var stray = routes.RootElement.EnumerateArray()
            .Where(route => route.TryGetProperty("metric", out var metric) && metric.ToString() == RegionHost.LostRegionMetric)
            .Select(route => route.GetProperty("dst").GetString()!)
            .Where(block => !networks.Contains(block))
            .ToList();
        foreach (var block in stray)
        {
            await RegionHostContainers.IpAsync(["route", "del", "blackhole", block, "metric", RegionHost.LostRegionMetric], cancellationToken).ConfigureAwait(false);
        }

        return stray.Count;
    }

    /// <summary>
    /// Lists what carries <see cref="RunLabel"/> (<paramref name="list"/>; <paramref name="format"/> prints a name, then
    /// the run id or every label) and removes what belongs to a gone run.
    /// </summary>
    private static async Task<int> ReapAsync(
        IReadOnlyList<string> list, string format, IReadOnlyList<string> remove, string runRoot, CancellationToken cancellationToken)
    {
        var (_, output) = await CliAsync([.. list, "--filter", $"label={RunLabel}", "--format", format], cancellationToken).ConfigureAwait(false);
        var abandoned = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ', 2))
            // An empty id is docker-compose.chaos.yml started by a person, not by a run: never reaped.
            .Where(fields => fields.Length == 2 && RunIdIn(fields[1]) is { Length: > 0 } runId && !Directory.Exists(Path.Combine(runRoot, runId)))
            .Select(fields => fields[0])
            .ToList();
        foreach (var name in abandoned)
        {
            await CliAsync([.. remove, name], cancellationToken).ConfigureAwait(false);
        }

        return abandoned.Count;
    }

    /// <summary>The run id in a label listing ("io.voxguard.run=ID,other=x"), or the text itself when it is the bare id.</summary>
    private static string RunIdIn(string labels)
    {
        var at = labels.IndexOf(RunLabel + "=", StringComparison.Ordinal);
        return at < 0 ? labels.Trim() : labels[(at + RunLabel.Length + 1)..].Split(',', ' ')[0];
    }

    /// <summary>
    /// Removes this run's containers, then waits until their monitors (conmon) are gone; the Podman service stops with
    /// the run directory.
    /// </summary>
    /// <remarks>
    /// Every exec session (the modules' wait strategies: <c>redis-cli ping</c>, <c>pg_isready</c>) has a conmon of its own
    /// that outlives both the session and <c>podman rm</c> by the engine's <c>exit_command_delay</c> (300 s by default, so
    /// that the Docker API can still inspect the exec; scripts/images.sh sets 5 s). Waiting for them here is what
    /// leaves nothing behind when the run ends.
    /// </remarks>
    public async ValueTask DisposeAsync()
    {
        var removed = await RemoveAsync($"label={RunLabel}={_run.RunId}", CancellationToken.None).ConfigureAwait(false);
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * (long)MonitorsExit.TotalSeconds;
        while (removed.Count > 0 && MonitorsOf(removed).Count > 0 && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
        }
    }

    /// <summary>How long a removed container's monitors may take to go: the drop-in's exit_command_delay (5 s) and a margin.</summary>
    private static readonly TimeSpan MonitorsExit = TimeSpan.FromSeconds(15);

    /// <summary>The PIDs of conmon processes monitoring one of <paramref name="containerIds"/> (short ids match as prefixes).</summary>
    private static List<int> MonitorsOf(IReadOnlyList<string> containerIds)
    {
        var monitors = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), System.Globalization.CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            string[] arguments;
            try
            {
                arguments = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0');
            }
            catch (IOException)
            {
                continue; // gone meanwhile
            }

            var container = Array.IndexOf(arguments, "-c");
            if (arguments.Length > 0 && arguments[0].EndsWith("/conmon", StringComparison.Ordinal) && container >= 0 && container + 1 < arguments.Length
                && containerIds.Any(id => arguments[container + 1].StartsWith(id, StringComparison.Ordinal)))
            {
                monitors.Add(pid);
            }
        }

        return monitors;
    }

    /// <summary>Removes the containers <paramref name="filter"/> selects; returns their (short) ids.</summary>
    private static async Task<IReadOnlyList<string>> RemoveAsync(string filter, CancellationToken cancellationToken)
    {
        var (_, output) = await CliAsync(["ps", "--all", "--quiet", "--filter", filter], cancellationToken).ConfigureAwait(false);
        var ids = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var id in ids)
        {
            await CliAsync(["rm", "--force", "--volumes", id], cancellationToken).ConfigureAwait(false);
        }

        return ids;
    }

    private static async Task RequireAnswerAsync(Uri endpoint, string what, CancellationToken cancellationToken)
    {
        if (!await AnswersAsync(endpoint, cancellationToken).ConfigureAwait(false))
        {
            throw new ContainerEngineException($"{what} does not answer the Docker API's /_ping. Start that engine, or unset DOCKER_HOST to use Podman.");
        }
    }

    /// <summary>Whether the engine at a unix socket answers <c>GET /_ping</c> with OK.</summary>
    private static async Task<bool> AnswersAsync(Uri endpoint, CancellationToken cancellationToken)
    {
        if (endpoint.Scheme != "unix")
        {
            // tcp:// engines: let Testcontainers find out.
            return true;
        }

        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancel) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(endpoint.LocalPath), cancel).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            using var response = await client.GetAsync(new Uri("http://engine/_ping"), cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (Exception exception) when (exception is HttpRequestException or SocketException or TaskCanceledException)
        {
            return false;
        }
    }

    private static async Task<string> PodmanVersionAsync(CancellationToken cancellationToken)
    {
        var (_, output) = await CliAsync(["version", "--format", "{{.Client.Version}}"], cancellationToken).ConfigureAwait(false);
        return output.Trim();
    }

    /// <summary>Runs the podman CLI; returns its exit code and standard output.</summary>
    internal static async Task<(int ExitCode, string Output)> CliAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var (exitCode, output, _) = await CliWithErrorAsync(arguments, cancellationToken).ConfigureAwait(false);
        return (exitCode, output);
    }

    /// <summary>Runs the podman CLI for <paramref name="what"/>; throws with what it said when it fails.</summary>
    internal static async Task CheckedCliAsync(IReadOnlyList<string> arguments, string what, CancellationToken cancellationToken)
    {
        var (exitCode, _, error) = await CliWithErrorAsync(arguments, cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new ContainerEngineException($"Cannot {what}: podman {string.Join(' ', arguments)} exited {exitCode}: {error.Trim()}");
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> CliWithErrorAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("/usr/bin/podman") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return (process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false));
    }
}

/// <summary>No container engine can be used: the message says what is missing and how to get it.</summary>
public sealed class ContainerEngineException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ContainerEngineException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ContainerEngineException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public ContainerEngineException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

using System.Diagnostics;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Containers;

/// <summary>
/// One project of <c>docker-compose.chaos.yml</c> run with Debian's docker-compose 1.29 against an engine
/// (<see cref="ContainerEngine"/>): up, health, down, and what is left of it.
/// </summary>
/// <remarks>
/// Podman without systemd never runs health checks by itself (it schedules them with systemd timers), so
/// <see cref="WaitUntilHealthyAsync"/> runs each container's check with <c>podman healthcheck run</c> until all pass.
/// </remarks>
public sealed class ChaosCompose
{
    /// <summary>The label every container, network and volume of the compose file carries.</summary>
    public const string Label = "io.voxguard.compose";

    /// <summary>The label docker-compose puts on everything of a project.</summary>
    public const string ProjectLabel = "com.docker.compose.project";

    /// <summary>The one-shot service that renders the configurations and exits.</summary>
    public const string ConfigService = "config";

    private readonly string _composeFile;
    private readonly IReadOnlyDictionary<string, string> _variables;
    private string? _lastUnhealthy;

    /// <param name="composeFile">The path of docker-compose.chaos.yml.</param>
    /// <param name="project">The compose project name (containers are <c>&lt;project&gt;_&lt;service&gt;_1</c>).</param>
    /// <param name="engine">The engine: its endpoint becomes DOCKER_HOST.</param>
    /// <param name="variables">The compose file's variables (VOXGUARD_BALANCER_ADDRESS, VOXGUARD_PROFILE…).</param>
    public ChaosCompose(string composeFile, string project, ContainerEngine engine, IReadOnlyDictionary<string, string> variables)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(composeFile);
        ArgumentException.ThrowIfNullOrWhiteSpace(project);
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(variables);
        _composeFile = composeFile;
        Project = project;
        _variables = new Dictionary<string, string>(variables) { ["DOCKER_HOST"] = engine.Endpoint.ToString() };
    }

    /// <summary>The compose project name.</summary>
    public string Project { get; }

    /// <summary>
    /// <c>docker-compose up -d</c>; throws with its output when it fails. Podman 4.3's API fails a request now and then
    /// with "read /proc/&lt;pid&gt;/cgroup: no such process" when a container's process exits while it is being looked at
    /// (the one-shot config service does; podman#16383, fixed in 4.4): <c>up</c> is idempotent, so that one error is
    /// retried, twice at most.
    /// </summary>
    public async Task UpAsync(CancellationToken cancellationToken = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ComposeAsync(["up", "-d"], cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (ContainerEngineException exception) when (attempt < 3 && IsPodmanCgroupRace(exception.Message))
            {
            }
        }
    }

    /// <summary>The message of podman 4.3's race between reading a process's cgroup and its exit (podman#16383).</summary>
    public static bool IsPodmanCgroupRace(string message) =>
        message.Contains("/cgroup: no such process", StringComparison.Ordinal);

    /// <summary><c>docker-compose down -v</c>: containers, networks and volumes.</summary>
    public Task DownAsync(CancellationToken cancellationToken = default) => ComposeAsync(["down", "-v", "--timeout", "5"], cancellationToken);

    /// <summary>Runs every running container's health check until all pass (the config service must have exited 0).</summary>
    /// <exception cref="TimeoutException">Some container was not healthy in time: the message names them.</exception>
    public async Task WaitUntilHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> unhealthy = [];
        try
        {
            await WaitStrategy.UntilAsync(
                async cancel =>
                {
                    unhealthy = await UnhealthyAsync(cancel).ConfigureAwait(false);
                    return unhealthy.Count == 0;
                },
                timeout,
                TimeSpan.FromMilliseconds(500),
                $"every container of compose project {Project} to be healthy",
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException exception)
        {
            throw new TimeoutException($"{exception.Message} Not healthy: {string.Join(", ", unhealthy)}. Their logs: podman logs <name>.", exception);
        }
    }

    /// <summary>
    /// Runs <paramref name="command"/> in the running container of <paramref name="service"/> (<c>podman exec</c>); its
    /// standard output, trimmed. Throws with the output when it exits non-zero.
    /// </summary>
    public async Task<string> ExecAsync(string service, IReadOnlyList<string> command, CancellationToken cancellationToken = default)
    {
        var name = await RunningContainerOfAsync(service, cancellationToken).ConfigureAwait(false);
        var (exitCode, output) = await ContainerEngine.CliAsync(["exec", name, .. command], cancellationToken).ConfigureAwait(false);
        return exitCode == 0
            ? output.Trim()
            : throw new InvalidOperationException($"{string.Join(' ', command)} in {name} exited {exitCode}: {output.Trim()}");
    }

    /// <summary>What the running container of <paramref name="service"/> has written so far (<c>podman logs</c>), one entry per line.</summary>
    public async Task<IReadOnlyList<string>> LogsAsync(string service, CancellationToken cancellationToken = default)
    {
        var name = await RunningContainerOfAsync(service, cancellationToken).ConfigureAwait(false);
        return Lines((await ContainerEngine.CliAsync(["logs", name], cancellationToken).ConfigureAwait(false)).Output);
    }

    private async Task<string> RunningContainerOfAsync(string service, CancellationToken cancellationToken)
    {
        var names = Lines((await ContainerEngine.CliAsync(
            ["ps", "--filter", $"label={ProjectLabel}={Project}", "--filter", $"label=com.docker.compose.service={service}", "--format", "{{.Names}}"],
            cancellationToken).ConfigureAwait(false)).Output).ToList();
        return names.Count == 1
            ? names[0]
            : throw new InvalidOperationException($"Compose project {Project} has {names.Count} running containers of service {service}; expected one.");
    }

    /// <summary>The containers, networks and volumes of this project still present (for checking that down removed them).</summary>
    public async Task<IReadOnlyList<string>> LeftoversAsync(CancellationToken cancellationToken = default)
    {
        var filter = $"label={ProjectLabel}={Project}";
        var containers = await ContainerEngine.CliAsync(["ps", "--all", "--filter", filter, "--format", "container {{.Names}}"], cancellationToken).ConfigureAwait(false);
        var networks = await ContainerEngine.CliAsync(["network", "ls", "--filter", filter, "--format", "network {{.Name}}"], cancellationToken).ConfigureAwait(false);
        var volumes = await ContainerEngine.CliAsync(["volume", "ls", "--filter", filter, "--format", "volume {{.Name}}"], cancellationToken).ConfigureAwait(false);
        return [.. Lines(containers.Output), .. Lines(networks.Output), .. Lines(volumes.Output)];
    }

    /// <summary>Removes whatever of this project is left with the podman CLI (no API service needed): a failed down's fallback.</summary>
    public async Task RemoveLeftoversAsync(CancellationToken cancellationToken = default)
    {
        var filter = $"label={ProjectLabel}={Project}";
        foreach (var id in Lines((await ContainerEngine.CliAsync(["ps", "--all", "--quiet", "--filter", filter], cancellationToken).ConfigureAwait(false)).Output))
        {
            await ContainerEngine.CliAsync(["rm", "--force", "--volumes", id], cancellationToken).ConfigureAwait(false);
        }

        foreach (var name in Lines((await ContainerEngine.CliAsync(["network", "ls", "--quiet", "--filter", filter], cancellationToken).ConfigureAwait(false)).Output))
        {
            await ContainerEngine.CliAsync(["network", "rm", "--force", name], cancellationToken).ConfigureAwait(false);
        }

        foreach (var name in Lines((await ContainerEngine.CliAsync(["volume", "ls", "--quiet", "--filter", filter], cancellationToken).ConfigureAwait(false)).Output))
        {
            await ContainerEngine.CliAsync(["volume", "rm", "--force", name], cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<string>> UnhealthyAsync(CancellationToken cancellationToken)
    {
        var listed = await ContainerEngine.CliAsync(
            ["ps", "--all", "--filter", $"label={ProjectLabel}={Project}", "--format", "{{.Names}}|{{.ExitCode}}|{{index .Labels \"com.docker.compose.service\"}}|{{.Status}}"],
            cancellationToken).ConfigureAwait(false);
        var containers = Lines(listed.Output).Select(ListedContainer.Parse).ToList();
        if (containers.Count == 0)
        {
            return ["(no container yet)"];
        }

        // What `ps` shows needs no check: a service container not running, the config service not exited 0.
        var down = containers.Where(container => !container.IsWhereItShouldBe).Select(container => $"{container.Name} ({container.Status})").ToList();
        if (down.Count > 0)
        {
            return down;
        }

        // Then each running container's health check, one at a time, the one that failed last first, stopping at the
        // first that fails: every check is a podman exec (conmon, runc), and seventeen of them at once every 500 ms
        // were a load of their own on a starved host, where the compose start then timed out.
        foreach (var container in containers.Where(container => !container.IsConfig).OrderByDescending(container => container.Name == _lastUnhealthy))
        {
            if ((await ContainerEngine.CliAsync(["healthcheck", "run", container.Name], cancellationToken).ConfigureAwait(false)).ExitCode != 0)
            {
                _lastUnhealthy = container.Name;
                return [$"{container.Name} ({container.Status}, its health check failing)"];
            }
        }

        return [];
    }

    /// <summary>One line of <see cref="UnhealthyAsync"/>'s <c>podman ps</c>: name|exit code|compose service|status.</summary>
    private sealed record ListedContainer(string Name, string ExitCode, string Service, string Status)
    {
        public bool IsConfig => Service == ConfigService;

        /// <summary>The config service has run once and exited 0; every other service is running.</summary>
        public bool IsWhereItShouldBe => IsConfig ? !IsRunning && ExitCode == "0" : IsRunning;

        private bool IsRunning => Status.StartsWith("Up", StringComparison.OrdinalIgnoreCase);

        public static ListedContainer Parse(string line)
        {
            var fields = line.Split('|', 4);
            return fields.Length == 4
                ? new ListedContainer(fields[0], fields[1], fields[2], fields[3])
                : throw new InvalidOperationException($"podman ps printed '{line}', not name|exit code|service|status.");
        }
    }

    private async Task ComposeAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("docker-compose") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])["--project-name", Project, "--file", _composeFile, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in _variables)
        {
            start.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            throw new ContainerEngineException("docker-compose is not installed: run ./resilience images build (it installs Debian's docker-compose 1.29).", exception);
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                throw new ContainerEngineException(
                    $"docker-compose {string.Join(' ', arguments)} of project {Project} failed (exit {process.ExitCode}): {await error.ConfigureAwait(false)}{await output.ConfigureAwait(false)}");
            }
        }
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

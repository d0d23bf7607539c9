using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using VoxGuard.Resilience.Containers;
using VoxGuard.Resilience.Containers.RegionHosts;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Measurement;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Local;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Cli.Commands;

/// <summary>
/// <c>up</c>, <c>status</c>, <c>down</c>: the local topology by hand. <c>up</c> serves it in the foreground (the link
/// server lives in the harness process) until Ctrl-C, SIGTERM or <c>down</c> from another shell; <c>status</c> prints
/// the snapshot <c>up</c> refreshes every second; <c>down</c> stops a running <c>up</c> and reaps what killed runs left.
/// </summary>
internal static class TopologyCommands
{
    private static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DownTimeout = TimeSpan.FromSeconds(30);

    /// <summary>What status, fault and failback say when nothing is up.</summary>
    internal const string NoTopologyUp = "No topology is up. Start one with ./resilience up [--env local] [--profile ci].";

    public static IEnumerable<Command> Create() => [Up(), Status(), Down()];

    private static Command Up()
    {
        var environmentName = new Option<string>("--env")
        {
            Description = "The environment: a file in environments/ without .yaml, or a path to a .yaml file.",
            DefaultValueFactory = _ => EnvironmentLoader.DefaultEnvironment,
        };
        var profile = new Option<string?>("--profile") { Description = "The profile to apply (e.g. documented, ci); default: the file's default_profile." };
        var linkApi = new Option<string>("--link-api")
        {
            Description = "Where the link server's Toxiproxy-compatible API listens (loopback; port 0 picks a free one).",
            DefaultValueFactory = _ => "127.0.0.1:8474",
        };
        var engine = new Option<string>("--engine")
        {
            Description = "What answers calls behind each region's proxy: acm (the ACM engine stand-in, writing every call to PostgreSQL and Redis) or sipp (SIPp UAS, no data path).",
            DefaultValueFactory = _ => "acm",
        };
        var command = new Command("up", "Start the topology (real servers on loopback, every inter-region byte through a link) and serve it until Ctrl-C or ./resilience down.")
        {
            environmentName, profile, linkApi, engine,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            EnvironmentDefinition environment;
            try
            {
                environment = EnvironmentCommand.Load(parseResult.GetValue(environmentName)!, parseResult.GetValue(profile));
            }
            catch (EnvironmentException exception)
            {
                await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            var address = parseResult.GetValue(linkApi)!;
            if (!IPEndPoint.TryParse(address, out var endpoint) || !address.Contains(':', StringComparison.Ordinal) || !IPAddress.IsLoopback(endpoint.Address))
            {
                await Console.Error.WriteLineAsync($"--link-api '{address}' is not a loopback address:port (e.g. 127.0.0.1:8474).").ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            IEngineLauncher? engines = parseResult.GetValue(engine) switch
            {
                "acm" => EngineLauncher.Instance,
                "sipp" => SippEngineLauncher.Instance,
                _ => null,
            };
            if (engines is null)
            {
                await Console.Error.WriteLineAsync($"--engine '{parseResult.GetValue(engine)}' must be acm or sipp.").ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            Console.WriteLine($"Starting environment {environment.Name} ({environment.Source}), profile {environment.Profile?.Name ?? "(none)"}, engines {parseResult.GetValue(engine)} …");
            LocalTopology topology;
            try
            {
                topology = await LocalTopology.StartAsync(environment, new LocalTopologyOptions
                {
                    LinkApiEndpoint = endpoint,
                    Engines = engines,
                    Backups = environment.Backups.Enabled,
                    RegionHosts = ContainerRegionHosts.ForEnvironment(environment),
                    Progress = step => Console.WriteLine($"  {step.Duration.TotalMilliseconds,7:F0} ms  {step.What}"),
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (TopologyStartException exception)
            {
                await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine("Stopped while starting; everything started was stopped.");
                return ExitCodes.Success;
            }

            await using (topology.ConfigureAwait(false))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Up and verified healthy in {topology.StartupDuration.TotalSeconds:F2} s. Run directory {topology.Run.Path}"));
                Console.WriteLine(BackupsLine(TopologyRecord.TryRead(topology.Run.Path)?.Repositories, topology.Run.Path));
                Console.WriteLine(LogsLine(topology.Run.Path));
                using var snapshots = new StatusSnapshots(topology);
                var status = await topology.StatusAsync(cancellationToken).ConfigureAwait(false);
                TopologyRecord.WriteStatus(topology.Run, status);
                Console.Write(Render(status));
                TopologyControlServer control;
                try
                {
                    control = TopologyControlServer.Start(topology, ControlOptions(snapshots));
                }
                catch (InvalidOperationException exception)
                {
                    await Console.Error.WriteLineAsync($"{exception.Message} Stopping every server.").ConfigureAwait(false);
                    return ExitCodes.CannotRun; // the topology is disposed on the way out
                }

                await using (control.ConfigureAwait(false))
                {
                    Console.WriteLine($"Control channel {control.Address} (./resilience fault …, rejoin, failback, backup, restore from another shell).");
                    Console.WriteLine("Serving until Ctrl-C or ./resilience down (./resilience status shows the latest state).");
                    await snapshots.RefreshUntilCancelledAsync(StatusInterval,
                        failure => Console.Error.WriteLine($"Status snapshot failed (retried every second): {failure}"), cancellationToken).ConfigureAwait(false);
                    Console.WriteLine("Stopping every server …");
                }

                var stopping = Stopwatch.GetTimestamp();
                await topology.DisposeAsync().ConfigureAwait(false);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Down in {Stopwatch.GetElapsedTime(stopping).TotalSeconds:F2} s: no process, port or directory left."));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The control channel of up: a fresh snapshot after every request, and a log line for every answer.</summary>
    private static TopologyControlServerOptions ControlOptions(StatusSnapshots snapshots) => new()
    {
        AfterRequest = snapshots.WriteAsync,
        Answered = (request, response) => Console.WriteLine(response.Ok
            ? $"  control: {request} done ({string.Join("; ", response.Operations.Select(operation => string.Create(CultureInfo.InvariantCulture, $"{operation.What} {operation.DurationMs:F0} ms")))})"
            : $"  control: {request} not done: {response.Error}"),
    };

    private static Command Status()
    {
        var command = new Command("status", "Show every node of the running topology: role, health, replication position and lag.");
        command.SetAction(_ =>
        {
            var running = RunningTopologies.Find();
            if (running.Count == 0)
            {
                Console.Error.WriteLine(NoTopologyUp);
                return ExitCodes.CannotRun;
            }

            foreach (var topology in running)
            {
                Console.WriteLine($"Environment {topology.Record.Environment}, profile {topology.Record.Profile ?? "(none)"}, served by pid {topology.HarnessPid}; links API {topology.Record.LinkApi}; control {topology.Record.Control ?? "(none)"}");
                Console.WriteLine(BackupsLine(topology.Record.Repositories, topology.RunDirectory));
                Console.WriteLine(LogsLine(topology.RunDirectory));
                if (topology.LatestStatus is { } status)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Snapshot taken {(DateTimeOffset.UtcNow - status.TakenAt).TotalSeconds:F1} s ago:"));
                    Console.Write(Render(status));
                }
                else
                {
                    Console.WriteLine("Still starting: no snapshot yet.");
                }

                foreach (var line in LatestServerEvents(topology))
                {
                    Console.WriteLine(line);
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Down()
    {
        var command = new Command("down", "Stop the running topology (every process, port and directory) and reap what killed runs left behind.");
        command.SetAction(async (_, cancellationToken) =>
        {
            var started = Stopwatch.GetTimestamp();
            var running = RunningTopologies.Find();
            foreach (var topology in running)
            {
                Console.WriteLine($"Stopping environment {topology.Record.Environment} (pid {topology.HarnessPid}) …");
                topology.RequestStop();

                var deadline = Stopwatch.GetTimestamp() + (long)(DownTimeout.TotalSeconds * Stopwatch.Frequency);
                while (topology.IsUp && Stopwatch.GetTimestamp() < deadline)
                {
                    await Task.Delay(20, cancellationToken).ConfigureAwait(false);
                }

                if (topology.IsUp)
                {
                    await Console.Error.WriteLineAsync($"pid {topology.HarnessPid} did not stop within {DownTimeout.TotalSeconds:F0} s; kill it (kill -9 {topology.HarnessPid}) and run ./resilience down again to reap its servers.").ConfigureAwait(false);
                    return ExitCodes.CannotRun;
                }
            }

            var (reaped, containers) = await ReapAbandonedAsync(cancellationToken).ConfigureAwait(false);
            if (running.Count == 0 && reaped.RunsReaped.Count == 0 && containers == 0)
            {
                Console.WriteLine("Nothing was up; nothing left behind.");
            }
            else
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Down in {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s: {running.Count} running topology stopped, {reaped.RunsReaped.Count} abandoned run(s) reaped ({reaped.ProcessesKilled.Count} leftover process(es) killed{(containers > 0 ? $", {containers} container(s) and network(s) removed" : string.Empty)})."));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Where the backup repositories live, or that the topology runs without backups.</summary>
    private static string BackupsLine(IReadOnlyList<string>? repositories, string runDirectory) =>
        repositories is null
            ? "Backups: off (the environment's backups section is missing or says enabled: false)."
            : $"Backups: repositories {string.Join("; ", repositories)}" +
              (repositories.All(repository => repository.Contains(runDirectory, StringComparison.Ordinal))
                  ? " (inside the run directory: ./resilience down removes them)."
                  : ".") + " ./resilience backup / restore act on them.";

    /// <summary>
    /// The servers' latest events, read from their logs (<see cref="ServerLogEvents"/>): what a game day's fault set off,
    /// in the servers' own words — a Sentinel's switch, Patroni's promotion, the balancer's DOWN.
    /// </summary>
    private static IEnumerable<string> LatestServerEvents(RunningTopology topology, int count = 15)
    {
        var excerpts = ServerLogWindow.FromFirstLine(topology.RunDirectory).Read(maxLinesPerServer: 20_000);
        if (excerpts.Count == 0)
        {
            yield break;
        }

        var origin = excerpts.Min(excerpt => excerpt.Lines[0].At);
        var events = ServerLogEvents.From(excerpts.SelectMany(excerpt => excerpt.Lines.Select(line => (line.At - origin, excerpt.Server, line.Text))), topology.Record.EndpointNames);
        yield return $"What the servers said (their latest {Math.Min(count, events.Count)} of {events.Count} events, UTC):";
        foreach (var said in events.TakeLast(count))
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"  {(origin + said.At).UtcDateTime:HH:mm:ss.fff}  {said.Server}: {said.Event}");
        }
    }

    /// <summary>Where every server's lines go.</summary>
    private static string LogsLine(string runDirectory) =>
        $"Server logs: {ServerLogWindow.FolderOf(runDirectory)}/<server>.log (every line, with the time it was read).";

    /// <summary>The status table: one row per server.</summary>
    internal static string Render(TopologyStatus status)
    {
        var text = new StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        text.AppendLine(culture, $"  {"region",-8} {"node",-9} {"role",-16} {"health",-40} {"replication"}");
        foreach (var row in status.Nodes)
        {
            text.AppendLine(culture, $"  {row.Region,-8} {row.Node,-9} {row.Role,-16} {row.Health,-40} {row.Replication}");
        }

        return text.ToString();
    }

    /// <summary>
    /// Reaps what runs whose harness is gone left under the default run root — their servers (PostgreSQL too, by its
    /// postmaster.pid), directories and the shared memory of killed postmasters — and a killed containers run's
    /// containers and networks. Runs of a live harness are left alone.
    /// </summary>
    internal static async Task<(ReapReport Runs, int Containers)> ReapAbandonedAsync(CancellationToken cancellationToken)
    {
        var reaped = Reaper.ReapAbandonedRuns(RunDirectory.DefaultRoot);
        await PostgresTier.RemoveOrphanedSharedMemoryAsync(cancellationToken).ConfigureAwait(false); // killed postmasters' segments
        // A killed containers run's region containers and networks: their run directory is gone now.
        var containers = await ContainerEngine.ReapAbandonedAsync(RunDirectory.DefaultRoot, cancellationToken).ConfigureAwait(false);
        return (reaped, containers);
    }
}

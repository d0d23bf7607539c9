using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using VoxGuard.Resilience.Topology.Local;

namespace VoxGuard.Resilience.Cli.Commands;

/// <summary>
/// <c>fault …</c>, <c>rejoin</c>, <c>failback</c>: the game-day operator's tools. Each sends one request through the
/// control channel of the topology <c>./resilience up</c> serves (found in the run root, like <c>status</c>), prints what
/// was done and when it was verified, and exits 0; a request that cannot apply (no topology up, unknown region or link,
/// a region already down, …) changes nothing and exits 2 with one message.
/// </summary>
internal static class FaultCommands
{
    public static IEnumerable<Command> Create() => [Fault(), Rejoin(), Failback()];

    private static Command Fault()
    {
        var fault = new Command("fault", "Inject a fault into the topology ./resilience up serves (game days); ./resilience status shows the effect.");
        fault.Subcommands.Add(OnRegion(TopologyControlActions.Kill, "Lose a whole region at once (LocalTopology.KillRegionAsync): every link cut, every process SIGKILLed; in containers its container killed too (rejoin brings it back)."));
        fault.Subcommands.Add(OnRegion(TopologyControlActions.Crash, "Crash every process of a region (SIGKILL), its network intact."));
        fault.Subcommands.Add(Isolate());
        fault.Subcommands.Add(Drop());
        fault.Subcommands.Add(OnRegion(TopologyControlActions.Heal, "Undo isolate and drop: every link of the region back to its latency, its packet filter emptied (a region not isolated is left as it is)."));
        fault.Subcommands.Add(OnRegion(TopologyControlActions.Pause, "SIGSTOP every process of a region: alive but silent, as a hung region is."));
        fault.Subcommands.Add(OnRegion(TopologyControlActions.Resume, "SIGCONT every paused process of a region."));
        fault.Subcommands.Add(Shape());
        fault.Subcommands.Add(Unshape());
        return fault;
    }

    private static Command Rejoin() =>
        OnRegion(TopologyControlActions.Rejoin, "Bring a crashed, killed or isolated region back as a replica region (servers restarted, stores rejoined, balancer UP).");

    private static Command Failback()
    {
        var region = new Option<string?>("--region") { Description = "The region to fail back to (default: the environment's primary)." };
        var command = new Command("failback", "The documented failback: rejoin the region if needed, switch both stores over to it without losing a write, weights back.")
        {
            region,
        };
        return command.Sends(parseResult => TopologyControlRequest.Failback(parseResult.GetValue(region)));
    }

    private static Command OnRegion(string action, string description)
    {
        var region = RegionArgument();
        return new Command(action, description) { region }.Sends(parseResult => TopologyControlRequest.OnRegion(action, parseResult.GetValue(region)!));
    }

    private static Command Isolate()
    {
        var region = RegionArgument();
        var mode = new Option<string>("--mode")
        {
            Description = "cut: links disabled, connections refused (a clean partition); blackhole: every byte swallowed, connections left open; " +
                "firewall (hosts: containers): the links untouched, every packet between the region and them dropped inside the region's own network namespace.",
            DefaultValueFactory = _ => "cut",
        };
        return new Command(TopologyControlActions.Isolate, "Cut a region off from the others (its own clients still reach it).") { region, mode }
            .Sends(parseResult => TopologyControlRequest.Isolate(parseResult.GetValue(region)!, parseResult.GetValue(mode)!));
    }

    private static Command Drop()
    {
        var region = RegionArgument();
        var probability = new Option<double>("--probability") { Description = "The chance (above 0, at most 1) that each packet is dropped, e.g. 0.3.", Required = true };
        var protocol = new Option<string>("--protocol") { Description = "udp, tcp or any.", DefaultValueFactory = _ => "any" };
        var port = new Option<int?>("--port") { Description = "Only packets to or from this port (5060: the SIP proxy's requests and replies); default every port." };
        var command = new Command(TopologyControlActions.Drop,
            "Random packet loss on a region's network, both ways, by the kernel inside the region's own network namespace (hosts: containers; ./resilience fault heal removes it).")
        {
            region, probability, protocol, port,
        };
        return command.Sends(parseResult =>
            TopologyControlRequest.Drop(parseResult.GetValue(region)!, parseResult.GetValue(probability), parseResult.GetValue(protocol)!, parseResult.GetValue(port)));
    }

    private static Command Shape()
    {
        var link = LinkArgument();
        var kind = new Option<string>("--toxic") { Description = $"The toxic: {string.Join(", ", ToxicArguments.Kinds)}.", Required = true };
        var latency = new Option<string?>("--latency") { Description = "latency: added delay (200ms, 1.5s; a bare number is ms)." };
        var jitter = new Option<string?>("--jitter") { Description = "latency: ± this much." };
        var rate = new Option<string?>("--rate") { Description = "bandwidth: KB/s (1 KB = 1000 B)." };
        var timeout = new Option<string?>("--timeout") { Description = "timeout: drop data, close after this long (0 = never); reset_peer: TCP RST this long after the first data." };
        var delay = new Option<string?>("--delay") { Description = "slow_close: hold the close this long; slicer: delay between slices." };
        var bytes = new Option<string?>("--bytes") { Description = "limit_data: close after this many bytes." };
        var averageSize = new Option<string?>("--average-size") { Description = "slicer: average slice in bytes." };
        var sizeVariation = new Option<string?>("--size-variation") { Description = "slicer: ± bytes per slice." };
        var stream = new Option<string>("--stream")
        {
            Description = "upstream (client → server), downstream (server → client) or both.",
            DefaultValueFactory = _ => "downstream",
        };
        var toxicity = new Option<string?>("--toxicity") { Description = "The chance (0–1) that a connection is affected; default 1." };
        var command = new Command(TopologyControlActions.Shape, "Add a toxic to one inter-region link (e.g. --toxic latency --latency 200ms --jitter 50ms).")
        {
            link, kind, latency, jitter, rate, timeout, delay, bytes, averageSize, sizeVariation, stream, toxicity,
        };
        return command.Sends(parseResult =>
            TopologyControlRequest.Shape(parseResult.GetValue(link)!, new ToxicArguments(parseResult.GetValue(kind)!)
            {
                Latency = parseResult.GetValue(latency),
                Jitter = parseResult.GetValue(jitter),
                Rate = parseResult.GetValue(rate),
                Timeout = parseResult.GetValue(timeout),
                Delay = parseResult.GetValue(delay),
                Bytes = parseResult.GetValue(bytes),
                AverageSize = parseResult.GetValue(averageSize),
                SizeVariation = parseResult.GetValue(sizeVariation),
                Stream = parseResult.GetValue(stream)!,
                Toxicity = parseResult.GetValue(toxicity),
            }.ToSpecs()));
    }

    private static Command Unshape()
    {
        var link = LinkArgument();
        return new Command(TopologyControlActions.Unshape, "Remove every toxic shape added to a link (its documented latency and an isolation stay).") { link }
            .Sends(parseResult => TopologyControlRequest.Unshape(parseResult.GetValue(link)!));
    }

    /// <summary>
    /// Makes <paramref name="command"/> a game-day command: it sends the request <paramref name="build"/> makes from its
    /// command line (<see cref="SendAsync"/>) and takes <c>--json</c> — for scripts and tests, the answer's times whole
    /// (date, offset, sub-millisecond) instead of the lines for people.
    /// </summary>
    internal static Command Sends(this Command command, Func<ParseResult, TopologyControlRequest> build)
    {
        var json = new Option<bool>("--json")
        {
            Description = "Print the control channel's answer as JSON (ok, error, operations with startedAt/verifiedAt in ISO 8601, notes) instead of lines for people.",
        };
        command.Options.Add(json);
        command.SetAction((parseResult, cancellationToken) => SendAsync(() => build(parseResult), parseResult.GetValue(json), cancellationToken));
        return command;
    }

    private static Argument<string> RegionArgument() => new("region") { Description = "The region, e.g. lagos, abuja, asaba." };

    private static Argument<string> LinkArgument() =>
        new("link") { Description = "The inter-region link, <from>-<to>-<service>, e.g. lagos-abuja-pg (GET <links API>/proxies lists them; ./resilience status prints the API)." };

    /// <summary>Checks the request, sends it to the one running topology and prints the answer (as JSON with <paramref name="json"/>).</summary>
    private static async Task<int> SendAsync(Func<TopologyControlRequest> build, bool json, CancellationToken cancellationToken)
    {
        TopologyControlRequest request;
        try
        {
            request = build();
            request.Validate();
        }
        catch (ArgumentException exception)
        {
            await Console.Error.WriteLineAsync($"{exception.Message} Nothing was done.").ConfigureAwait(false);
            return ExitCodes.CannotRun;
        }

        var running = RunningTopologies.Find();
        if (running.Count != 1)
        {
            await Console.Error.WriteLineAsync(running.Count == 0
                ? TopologyCommands.NoTopologyUp
                : $"{running.Count} topologies are up (served by pids {string.Join(", ", running.Select(each => each.HarnessPid))}); a game-day command needs exactly one. " +
                  $"Stop the others with kill <pid>, or give each its own run root ({Topology.Processes.RunDirectory.RunRootVariable}=/dev/shm/<name>).").ConfigureAwait(false);
            return ExitCodes.CannotRun;
        }

        TopologyControlResponse response;
        try
        {
            using var client = TopologyControlClient.For(running[0]);
            response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (TopologyControlException exception)
        {
            await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
            return ExitCodes.CannotRun;
        }

        Console.Write(json ? JsonSerializer.Serialize(response, TopologyControlJson.Options) + Environment.NewLine : Render(request, response));
        if (!response.Ok)
        {
            await Console.Error.WriteLineAsync(response.Error).ConfigureAwait(false);
            return ExitCodes.CannotRun;
        }

        return ExitCodes.Success;
    }

    /// <summary>What was done: one line per operation, started → verified on the wall clock (UTC) and how long it took.</summary>
    internal static string Render(TopologyControlRequest request, TopologyControlResponse response)
    {
        var culture = CultureInfo.InvariantCulture;
        var text = new System.Text.StringBuilder();
        if (response.Ok)
        {
            text.AppendLine(culture, $"{request}: done and verified.");
        }
        else if (response.Operations.Count > 0)
        {
            text.AppendLine(culture, $"{request}: stopped part way; done before the error:");
        }

        foreach (var operation in response.Operations)
        {
            text.AppendLine(culture,
                $"  {operation.StartedAt.UtcDateTime:HH:mm:ss.fff} → {operation.VerifiedAt.UtcDateTime:HH:mm:ss.fff} UTC  {operation.DurationMs,7:F0} ms  {operation.What}");
        }

        foreach (var note in response.Notes)
        {
            text.AppendLine(culture, $"  note: {note}");
        }

        return text.ToString();
    }
}

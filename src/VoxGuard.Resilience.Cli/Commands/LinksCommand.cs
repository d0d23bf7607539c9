using System.CommandLine;
using System.Net;
using VoxGuard.Resilience.Links;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Topology.Compose;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;

namespace VoxGuard.Resilience.Cli.Commands;

/// <summary><c>links serve</c>: the link server standalone, speaking Toxiproxy's API.</summary>
internal static class LinksCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen")
        {
            Description = "Address of the Toxiproxy-compatible HTTP API (loopback only; port 0 picks a free port).",
            DefaultValueFactory = _ => $"127.0.0.1:{LinkServerOptions.DefaultApiPort}",
        };
        var environmentName = new Option<string?>("--env")
        {
            Description = "Also create this environment's inter-region links (e.g. local), with their latencies.",
        };
        var compose = new Option<bool>("--compose")
        {
            Description = "Serve the links of docker-compose.chaos.yml (between its region networks) instead of the loopback ones; "
                + "the API may then listen on the container's network address, where the published port delivers.",
        };
        var serve = new Command("serve", "Serve inter-region links with Toxiproxy's HTTP API v2 until Ctrl-C.") { listen, environmentName, compose };
        serve.SetAction(async (parseResult, cancellationToken) =>
        {
            EnvironmentDefinition? environment = null;
            var inCompose = parseResult.GetValue(compose);
            if (inCompose && parseResult.GetValue(environmentName) is null)
            {
                await Console.Error.WriteLineAsync("--compose needs --env: the environment whose links the compose file runs (e.g. /environments/local.yaml).").ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            if (parseResult.GetValue(environmentName) is { } name)
            {
                try
                {
                    // Checked before anything listens: a broken file starts nothing.
                    environment = EnvironmentCommand.Load(name, profile: null);
                }
                catch (EnvironmentException exception)
                {
                    await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
                    return ExitCodes.CannotRun;
                }
            }

            var address = parseResult.GetValue(listen)!;
            if (!IPEndPoint.TryParse(address, out var endpoint) || !address.Contains(':', StringComparison.Ordinal))
            {
                await Console.Error.WriteLineAsync($"--listen '{address}' is not an address:port (e.g. 127.0.0.1:8474).").ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            LinkServer server;
            try
            {
                server = new LinkServer(new LinkServerOptions { ApiEndpoint = endpoint, ApiOnContainerNetwork = inCompose });
            }
            catch (ArgumentException exception)
            {
                await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
                return ExitCodes.CannotRun;
            }

            await using (server.ConfigureAwait(false))
            {
                try
                {
                    await server.StartAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (LinkServerException exception)
                {
                    await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
                    return ExitCodes.CannotRun;
                }

                LinkSwitchboard? switchboard = null;
                if (environment is not null)
                {
                    // In the compose file every region reaches the others by name through its own network's link
                    // listeners (ComposeTopology): no switchboard.
                    var served = inCompose ? ComposeTopology.For(environment) : environment;
                    var plan = await ApplyLinksAsync(server, served, inCompose ? ComposeTopology.LinksFor(served) : null, cancellationToken).ConfigureAwait(false);
                    if (plan is null)
                    {
                        return cancellationToken.IsCancellationRequested ? ExitCodes.Success : ExitCodes.CannotRun;
                    }

                    try
                    {
                        switchboard = inCompose ? null : LinkSwitchboard.Start(environment, plan);
                    }
                    catch (InvalidOperationException exception)
                    {
                        await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
                        return ExitCodes.CannotRun;
                    }
                }

                await using var stopSwitchboard = switchboard;

                Console.WriteLine($"Link server (Toxiproxy API {LinkServer.CompatibleToxiproxyVersion}) listening on {server.ApiAddress} — Ctrl-C to stop.");
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Console.WriteLine("Stopping: closing every proxy and connection.");
                }
            }

            return ExitCodes.Success;
        });
        return new Command("links", "Inter-region links (a Toxiproxy-compatible TCP link server).") { serve };
    }

    /// <summary>Creates the environment's links and prints them; the plan, or null when that failed or was stopped.</summary>
    private static async Task<IReadOnlyList<InterRegionLink>?> ApplyLinksAsync(
        LinkServer server, EnvironmentDefinition environment, IReadOnlyList<InterRegionLink>? plan, CancellationToken cancellationToken)
    {
        using var client = new LinkClient(server.ApiAddress);
        var links = plan is null ? new InterRegionLinks(client, environment) : new InterRegionLinks(client, environment, plan);
        try
        {
            await links.ApplyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("Stopped while creating links: closing every proxy and connection.");
            return null;
        }
        catch (LinkApiException exception)
        {
            await Console.Error.WriteLineAsync(
                $"The links of environment {environment.Name} could not be created: {exception.ApiMessage}. " +
                "Is another link server or a topology already using those addresses?").ConfigureAwait(false);
            return null;
        }

        Console.WriteLine($"Inter-region links of environment {environment.Name} ({environment.Source}):");
        foreach (var link in links.Plan)
        {
            Console.WriteLine($"  {link.Name,-24} {link.Listen,-21} -> {link.Upstream,-21} {link.RoundTripLatency.TotalMilliseconds} ms round trip");
        }

        if (plan is not null)
        {
            return links.Plan;
        }

        Console.WriteLine("Link-facing addresses (every region dials these; routed by the caller's block):");
        foreach (var region in environment.Regions)
        {
            Console.WriteLine($"  {region.Name,-8} {string.Join("  ", InterRegionLinkPlan.TcpServices.Select(service => $"{service.LinkSuffix()} {LinkSwitchboard.LinkFacingEndPoint(region, service)}"))}");
        }

        return links.Plan;
    }
}

using System.CommandLine;
using System.Net;
using VoxGuard.Resilience.Links;
using VoxGuard.Resilience.Links.Client;
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
        var serve = new Command("serve", "Serve inter-region links with Toxiproxy's HTTP API v2 until Ctrl-C.") { listen, environmentName };
        serve.SetAction(async (parseResult, cancellationToken) =>
        {
            EnvironmentDefinition? environment = null;
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
                server = new LinkServer(new LinkServerOptions { ApiEndpoint = endpoint });
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
                    var plan = await ApplyLinksAsync(server, environment, cancellationToken).ConfigureAwait(false);
                    if (plan is null)
                    {
                        return cancellationToken.IsCancellationRequested ? ExitCodes.Success : ExitCodes.CannotRun;
                    }

                    try
                    {
                        switchboard = LinkSwitchboard.Start(environment, plan);
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
    private static async Task<IReadOnlyList<InterRegionLink>?> ApplyLinksAsync(LinkServer server, EnvironmentDefinition environment, CancellationToken cancellationToken)
    {
        using var client = new LinkClient(server.ApiAddress);
        var links = new InterRegionLinks(client, environment);
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

        Console.WriteLine("Link-facing addresses (every region dials these; routed by the caller's block):");
        foreach (var region in environment.Regions)
        {
            Console.WriteLine($"  {region.Name,-8} {string.Join("  ", InterRegionLinkPlan.TcpServices.Select(service => $"{service.LinkSuffix()} {LinkSwitchboard.LinkFacingEndPoint(region, service)}"))}");
        }

        return links.Plan;
    }
}

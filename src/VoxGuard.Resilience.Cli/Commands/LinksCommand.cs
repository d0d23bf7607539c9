using System.CommandLine;
using System.Net;
using VoxGuard.Resilience.Links;

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
        var serve = new Command("serve", "Serve inter-region links with Toxiproxy's HTTP API v2 until Ctrl-C.") { listen };
        serve.SetAction(async (parseResult, cancellationToken) =>
        {
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
}

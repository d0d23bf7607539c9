using System.Diagnostics;
using System.Text.Json;
using VoxGuard.Resilience.Links.Tests.Support;

namespace VoxGuard.Resilience.Links.Tests.Interop;

/// <summary>
/// The link server driven by an independent Toxiproxy client (toxiproxy-node-client from npm,
/// installed by ./resilience into tools/): proof that a client written for the real Toxiproxy
/// works unchanged, toxics included.
/// </summary>
[TestFixture]
[Category("Interop")]
public sealed class ToxiproxyNodeClientTests
{
    [Test]
    public async Task An_independent_toxiproxy_client_drives_the_link_server_end_to_end()
    {
        await using var links = await LinkServerFixture.StartAsync();
        await using var echo = new EchoServer();

        var seen = await RunClientScriptAsync(links.Server.ApiAddress, echo.Address);

        Assert.Multiple(() =>
        {
            Assert.That(seen.GetProperty("version").GetString(), Does.Contain(LinkServer.CompatibleToxiproxyVersion));
            Assert.That(seen.GetProperty("listen").GetString(), Does.Match(@"^127\.0\.0\.1:\d+$"));
            Assert.That(seen.GetProperty("toxic").GetRawText(), Is.EqualTo(
                """{"name":"latency_downstream","type":"latency","stream":"downstream","toxicity":1,"attributes":{"latency":40,"jitter":0}}"""));
            Assert.That(seen.GetProperty("directMs").GetDouble(), Is.LessThan(20));
            Assert.That(seen.GetProperty("withLatencyMs").GetDouble(), Is.InRange(40.0, 60.0));
            Assert.That(seen.GetProperty("updatedLatency").GetInt32(), Is.EqualTo(80));
            Assert.That(seen.GetProperty("enabledAfterDisable").GetBoolean(), Is.False);
            Assert.That(seen.GetProperty("afterReset").GetProperty("enabled").GetBoolean(), Is.True);
            Assert.That(seen.GetProperty("afterReset").GetProperty("toxic").GetString(), Is.EqualTo("Request failed with status code 404"));
            Assert.That(seen.GetProperty("populated").GetRawText(), Is.EqualTo("""["lagos-asaba-pg"]"""));
            Assert.That(seen.GetProperty("all").GetRawText(), Is.EqualTo("""["lagos-abuja-sip","lagos-asaba-pg"]"""));
            Assert.That(seen.GetProperty("missing").GetString(), Is.EqualTo("Request failed with status code 404"), "this client reports only the status");
            Assert.That(seen.GetProperty("afterRemove").GetRawText(), Is.EqualTo("""["lagos-abuja-sip"]"""));
        });
    }

    private static async Task<JsonElement> RunClientScriptAsync(Uri apiAddress, string upstream)
    {
        var repository = RepositoryRoot();
        var modules = Path.Combine(repository, "tools", "node_modules");
        if (!Directory.Exists(Path.Combine(modules, "toxiproxy-node-client")))
        {
            Assert.Fail($"toxiproxy-node-client is not installed in {modules}. Run ./resilience test (it installs the npm tools), or: npm install --prefix tools");
        }

        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Interop", "toxiproxy-node-client.js"));
        start.ArgumentList.Add(apiAddress.AbsoluteUri);
        start.ArgumentList.Add(upstream);
        start.Environment["NODE_PATH"] = modules;

        using var node = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var output = node.StandardOutput.ReadToEndAsync();
        var error = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await node.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            node.Kill(entireProcessTree: true);
            throw;
        }

        Assert.That(node.ExitCode, Is.Zero, $"the node client failed: {await error}");
        return JsonDocument.Parse(await output).RootElement.Clone();
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "VoxGuard.Resilience.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException("VoxGuard.Resilience.sln not found above " + AppContext.BaseDirectory);
    }
}

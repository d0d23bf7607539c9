using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Sip.Load;
using VoxGuard.Resilience.Tests.Shared;
using VoxGuard.Resilience.Topology.Compose;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Containers.Tests;

/// <summary>
/// docker-compose.chaos.yml with Debian's docker-compose 1.29 on this machine's engine (Podman's API service): healthy,
/// answering SIP through the published balancer and Toxiproxy's API on the published link server, and gone after down.
/// Published on 127.0.241.10:5060 and 127.0.241.1:8474 (the compose file's variables), not the defaults other runs use.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class ChaosComposeTests
{
    private static readonly IPEndPoint Balancer = new(IPAddress.Parse("127.0.241.10"), 5060);
    private static readonly IPAddress LinkApi = IPAddress.Parse("127.0.241.1");

    // The Sentinel events that say a master was thought down or moved: any of them during the load explains lost keys.
    private static readonly string[] SentinelDecisions = ["+sdown master", "+odown", "+switch-master", "+convert-to-slave", "-sdown master"];
    private TopologyImages _images = null!;

    [OneTimeSetUp]
    public async Task BuildImagesAsync()
    {
        var started = Stopwatch.GetTimestamp();
        _images = await TopologyImages.EnsureBuiltAsync(LocalEnvironmentInBlocks.RepositoryRoot);
        TestContext.Progress.WriteLine($"images ready in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s: {_images.Harness}");
    }

    [Test]
    public async Task Compose_file_comes_up_healthy_answers_sip_and_the_link_api_and_down_removes_everything()
    {
        var environment = EnvironmentLoader.FromRepository(LocalEnvironmentInBlocks.RepositoryRoot).Load("local", "ci");
        var compose = ComposeTopology.For(environment);
        await using var run = RunDirectory.Create();
        await using var engine = await ContainerEngine.StartAsync(run);
        var project = new ChaosCompose(
            ComposeFileTests.ComposeFilePath,
            $"voxguard-chaos-test-{Environment.ProcessId}",
            engine,
            new Dictionary<string, string>
            {
                ["VOXGUARD_HARNESS_IMAGE"] = _images.Harness!,
                ["VOXGUARD_PROFILE"] = "ci",
                ["VOXGUARD_BALANCER_ADDRESS"] = Balancer.Address.ToString(),
                ["VOXGUARD_LINK_API_ADDRESS"] = LinkApi.ToString(),
                ["VOXGUARD_RUN_ID"] = engine.RunId, // if this test is killed, the next run reaps the project
            });
        try
        {
            var started = Stopwatch.GetTimestamp();
            await project.UpAsync();
            var upReturned = Stopwatch.GetElapsedTime(started);
            await project.WaitUntilHealthyAsync(TimeSpan.FromSeconds(120));
            TestContext.Out.WriteLine($"{engine.Name}: up -d returned after {upReturned.TotalSeconds:F1} s, every container healthy after {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");

            var options = await OptionsAsync(compose);
            Assert.That(options, Does.StartWith("SIP/2.0 200"), "the balancer forwards SIP OPTIONS to a region, which answers 200");
            Assert.That(options, Does.Contain($"{SipProxyTier.RegionHeader}: "), "the answer names its region");

            // From 127.0.0.1: Podman's port forwarding to a loopback address masquerades only that source.
            var load = await OpenLoopLoad.RunAsync(new LoadProfile
            {
                Target = Balancer,
                CallsPerSecond = 20,
                Duration = TimeSpan.FromSeconds(2),
                HoldTime = TimeSpan.FromMilliseconds(100),
                FirstSource = IPAddress.Loopback,
                SourceCount = 1,
            });
            var summary = load.Summarise();
            TestContext.Out.WriteLine($"calls: {summary.Succeeded}/{summary.Calls}; {string.Join(", ", summary.Regions.Select(share => $"{share.Region} {share.Answered}"))}");
            Assert.That(summary.Succeeded, Is.EqualTo(summary.Calls).And.GreaterThan(0), "every call through the balancer is answered by an engine");

            // The ACM engines answered only once both writes were acknowledged: every call's event is in the primary
            // (Lagos) and its session in the master, and both reach the other regions through the links.
            var stored = new Dictionary<string, (long Rows, long Keys)>();
            try
            {
                await WaitStrategy.UntilAsync(async cancel =>
                {
                    foreach (var region in compose.Regions)
                    {
                        stored[region.Name] = (await CountAsync(project, $"patroni-{region.Name}", cancel, "psql", "-h", region.Postgres.Address.ToString(), "-p", Port(region.Postgres.Port),
                                "-U", "postgres", "-d", "postgres", "-Atc", "SELECT count(DISTINCT call_id) FROM voxguard_writes"),
                            await CountAsync(project, $"redis-{region.Name}", cancel, "redis-cli", "-p", Port(region.Redis.Port), "dbsize"));
                    }

                    return stored.Values.All(counts => counts == (summary.Succeeded, summary.Succeeded));
                }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(500), "every answered call's writes in every region's PostgreSQL and Redis");
            }
            catch (TimeoutException)
            {
                // The assertion below says what was there.
            }

            TestContext.Out.WriteLine($"writes: {string.Join(", ", stored.Select(each => $"{each.Key} {each.Value.Rows} call ids in rows, {each.Value.Keys} keys"))}");
            var sentinelEvents = new List<string>();
            foreach (var region in compose.Regions)
            {
                var events = (await project.LogsAsync($"sentinel-{region.Name}")).Where(line => SentinelDecisions.Any(line.Contains)).ToList();
                TestContext.Out.WriteLine($"sentinel-{region.Name}: {(events.Count == 0 ? "no master down or moved" : string.Join("\n  ", events.Prepend("")))}");
                sentinelEvents.AddRange(events);
            }

            // A start that moved the master is a failover nobody asked for, and the old master's acknowledged writes go with it.
            Assert.That(sentinelEvents, Has.None.Contains("+switch-master"), "no Sentinel moved the master: the compose start leaves Lagos's master where it is");
            Assert.That(stored, Is.EquivalentTo(compose.Regions.ToDictionary(region => region.Name, _ => ((long)summary.Succeeded, (long)summary.Succeeded))),
                "every answered call's event (counted by call id: a timed-out insert may commit beside its retry) and one key per answered call, on the primary and master and on every replica");

            using var links = new LinkClient(new Uri($"http://{LinkApi}:8474/"));
            var proxies = await links.GetProxiesAsync();
            Assert.That(proxies.Keys, Is.EquivalentTo(ComposeTopology.LinksFor(compose).Select(link => link.Name)),
                "the link API lists every inter-region link (Redis, Sentinel, etcd client and peer, PostgreSQL, Patroni; both ways, each pair)");
        }
        finally
        {
            var stopping = Stopwatch.GetTimestamp();
            try
            {
                await project.DownAsync();
                TestContext.Out.WriteLine($"down -v took {Stopwatch.GetElapsedTime(stopping).TotalSeconds:F1} s");
            }
            finally
            {
                var left = await project.LeftoversAsync();
                await project.RemoveLeftoversAsync();
                Assert.That(left, Is.Empty, "down -v removes every container, network and volume of the project");
            }
        }
    }

    private static async Task<long> CountAsync(ChaosCompose project, string service, CancellationToken cancellationToken, params string[] command) =>
        long.Parse(await project.ExecAsync(service, command, cancellationToken), CultureInfo.InvariantCulture);

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    /// <summary>The balancer's own health-check request, sent through the published port; the status line and headers of the answer.</summary>
    private static async Task<string> OptionsAsync(EnvironmentDefinition compose)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.ConnectAsync(Balancer, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(HaproxyConfig.HealthCheckRequest(compose)), timeout.Token);
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        while (!answer.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return answer.ToString();
    }
}

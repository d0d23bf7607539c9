using System.Diagnostics;
using System.Net;
using VoxGuard.Resilience.Containers.RegionHosts;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Sip.Load;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Tests.Shared;
using VoxGuard.Resilience.Topology.Backups;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Local;

namespace VoxGuard.Resilience.Containers.Tests;

/// <summary>
/// The containers environment end to end (environments/containers.yaml moved to 10.231.21–23.0/24, balancer
/// 127.0.0.232): the whole topology with ACM engines, each region in a container of its own, answers calls 70/15/15
/// through the balancer with every write in both stores; losing Lagos, the system fails both stores over by itself and
/// the calls split between Abuja and Asaba, Lagos's container gone with its addresses; rejoined, Lagos is a replica
/// region again (container back, Redis replica, PostgreSQL a streaming standby, calls reach it); afterwards no container
/// or network of the run is left. Before the loss, a backup restored beside the topology (on an address of Lagos's
/// block, in Lagos's container) holds the primary's writes table and the master's keys.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class ContainersEnvironmentTests
{
    private static readonly EnvironmentDefinition Environment =
        EnvironmentLoader.Parse(LocalEnvironmentInBlocks.ContainersYaml(21, 232), "containers in 10.231.21-23", "ci");

    [Test]
    public async Task A_containers_topology_serves_70_15_15_and_fails_over_by_itself_when_lagos_and_its_container_are_lost_and_rejoins_lagos_leaving_nothing()
    {
        string runId;
        var started = Stopwatch.GetTimestamp();
        var topology = await LocalTopology.StartAsync(Environment, new LocalTopologyOptions
        {
            Engines = EngineLauncher.Instance,
            Backups = true,
            RegionHosts = new ContainerRegionHosts(LocalEnvironmentInBlocks.RepositoryRoot),
        });
        await using (topology)
        {
            runId = topology.Run.RunId;
            TestContext.Progress.WriteLine($"containers topology healthy in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s: "
                + string.Join(", ", topology.StartupPhases.Select(phase => $"{phase.What} {phase.Duration.TotalSeconds:F1} s")));

            var before = await CallsAsync(60);

            // A game day's restore beside the topology: the copy on an address of Lagos's block, on Lagos's host.
            var primaryTable = await WritesTableCheck.CheckAsync(topology.Postgres.ConnectionStringOf("lagos"));
            var primaryKeys = await RespClient.CommandAsync(Environment.Region("lagos").Redis.EndPoint, CancellationToken.None, "DBSIZE");
            await topology.BackUpAsync(TopologyStores.All, PgBackRestBackupType.Full);
            var copy = await topology.RestoreCopyAsync(new RestoreCopyRequest());
            var copyKeys = await copy.Redis!.KeyCountAsync();
            TestContext.Progress.WriteLine($"restored copy at {copy.Address}: {string.Join(", ", copy.Steps.Select(step => $"{step.What} {step.Duration.TotalSeconds:F1} s"))}");

            var lost = await topology.KillRegionAsync("lagos");
            // Observed, never done: Sentinel and Patroni elect a new primary among the survivors.
            var postgresPrimary = await topology.Postgres.WaitUntilPrimaryOutsideAsync("lagos", TimeSpan.FromSeconds(30));
            var redisMaster = (await topology.Redis.MasterRegionAsync(timeout: TimeSpan.FromSeconds(30))).Name;
            TestContext.Progress.WriteLine($"after losing lagos ({lost.Duration.TotalMilliseconds:F0} ms): PostgreSQL primary {postgresPrimary}, Redis master {redisMaster}");
            var after = await CallsAsync(40);
            var lagosContainer = await PodmanAsync("ps", "--filter", $"label={ContainerEngine.RunLabel}={runId}", "--filter", "status=running", "--format", "{{.Names}}");
            var lagosRedisAnswers = await AcceptsAsync(Environment.Region("lagos").Redis.EndPoint);

            // The documented recovery: the host back first, then Lagos a replica region.
            var rejoinStarted = Stopwatch.GetTimestamp();
            var rejoin = await topology.RejoinRegionAsync("lagos");
            TestContext.Progress.WriteLine($"lagos rejoined in {Stopwatch.GetElapsedTime(rejoinStarted).TotalSeconds:F1} s: "
                + string.Join(", ", rejoin.Select(step => $"{step.What} {step.Duration.TotalSeconds:F1} s")));
            var rejoined = await PodmanAsync("ps", "--filter", $"label={ContainerEngine.RunLabel}={runId}", "--filter", "status=running", "--format", "{{.Names}}");
            var lagosRedis = (await topology.Redis.StatusAsync()).Single(node => node.Region == "lagos");
            var lagosPostgres = await topology.Postgres.RoleOfAsync("lagos");
            var lagosWalReceiver = await topology.Postgres.ScalarAsync("lagos", "SELECT status FROM pg_stat_wal_receiver");
            var lagosBalancer = await topology.Sip.BalancerStateAsync("lagos");
            var back = await CallsAsync(60);

            Assert.Multiple(() =>
            {
                Assert.That(before.Values.Sum(), Is.EqualTo(60), "every call answered before the loss");
                Assert.That(before, Is.EquivalentTo(new Dictionary<string, int> { ["lagos"] = 42, ["abuja"] = 9, ["asaba"] = 9 }), "round robin 70/15/15");
                Assert.That(copy.Address.ToString(), Does.StartWith("10.231.21."), "the copy serves from an address of lagos's block");
                Assert.That((copy.Table!.Rows, copy.Table.Checksum), Is.EqualTo((primaryTable.Rows, primaryTable.Checksum)), "the restored writes table is the primary's: rows and the ids' md5");
                Assert.That(copy.Table.Problems, Is.Empty, "amcheck finds the restored table clean");
                Assert.That(primaryTable.Rows, Is.GreaterThanOrEqualTo(60), "every call before the backup wrote");
                Assert.That(copyKeys, Is.EqualTo(Convert.ToInt64(primaryKeys, System.Globalization.CultureInfo.InvariantCulture)), "the restored Redis holds the master's keys");
                Assert.That(postgresPrimary, Is.AnyOf("abuja", "asaba"));
                Assert.That(redisMaster, Is.AnyOf("abuja", "asaba"));
                Assert.That(after.Values.Sum(), Is.EqualTo(40), "every call answered after the failover");
                Assert.That(after.Keys, Is.EquivalentTo(new[] { "abuja", "asaba" }));
                // 15/15 spread over the survivors; the round robin restarts its turn order when Lagos leaves, hence ± a few.
                Assert.That(after["abuja"], Is.InRange(16, 24), "50/50 between abuja and asaba");
                Assert.That(lagosContainer, Does.Not.Contain("lagos"), "lagos's container killed with the region");
                Assert.That(lagosRedisAnswers, Is.False, "lagos's addresses gone with its container");
                Assert.That(rejoined, Does.Contain("lagos"), "lagos's container running again");
                Assert.That(lagosRedis.Role, Is.AnyOf("slave", "replica"), "lagos's Redis a replica");
                Assert.That(lagosPostgres, Is.EqualTo("standby"), "lagos's PostgreSQL a standby");
                Assert.That(lagosWalReceiver, Is.EqualTo("streaming"), "lagos's standby streaming from the new primary");
                Assert.That(lagosBalancer.IsUp, Is.True, "the balancer reports lagos up");
                Assert.That(back.Values.Sum(), Is.EqualTo(60), "every call answered after the rejoin");
                Assert.That(back.GetValueOrDefault("lagos"), Is.GreaterThan(0), "calls reach lagos again");
            });
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await PodmanAsync("ps", "--all", "--filter", $"label={ContainerEngine.RunLabel}={runId}", "--format", "{{.Names}}"), Is.Empty);
            Assert.That(await PodmanAsync("network", "ls", "--format", "{{.Name}}"), Does.Not.Contain(runId));
        });
    }

    /// <summary>Calls through the balancer (TCP, one connection per call, 20 calls/s); the answered ones per region.</summary>
    private static async Task<Dictionary<string, int>> CallsAsync(int calls)
    {
        var load = await OpenLoopLoad.RunAsync(new LoadProfile
        {
            Target = Environment.Balancer.SipEndPoint,
            Transport = SipTransportKind.Tcp,
            CallsPerSecond = 20,
            Duration = TimeSpan.FromSeconds(calls / 20.0),
            HoldTime = TimeSpan.FromMilliseconds(100),
            FirstSource = IPAddress.Parse("127.0.233.1"),
            SourceCount = 10,
        });
        TestContext.Out.WriteLine(string.Join(" | ", load.Calls.Where(call => !call.Succeeded).Select(call => $"{call.Outcome} {call.StatusCode} {call.FailureReason}").Distinct()));
        return load.Calls.Where(call => call.Succeeded).GroupBy(call => call.Region ?? "none").ToDictionary(group => group.Key, group => group.Count());
    }

    /// <summary>Whether a TCP connection to <paramref name="endPoint"/> is accepted within 2 s.</summary>
    private static async Task<bool> AcceptsAsync(IPEndPoint endPoint)
    {
        using var client = new System.Net.Sockets.TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await client.ConnectAsync(endPoint, timeout.Token);
            return true;
        }
        catch (Exception exception) when (exception is System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<string> PodmanAsync(params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo("/usr/bin/podman", arguments) { RedirectStandardOutput = true })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output.Trim();
    }
}

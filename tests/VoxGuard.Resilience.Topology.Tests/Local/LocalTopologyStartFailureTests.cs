using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Local;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Local;

/// <summary>
/// A start that cannot succeed says why in one message and leaves nothing behind: refused before anything starts
/// when an address is taken, torn down completely when a server fails midway. Blocks 127.0.121–123.x.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class LocalTopologyStartFailureTests
{
    private static readonly EnvironmentDefinition Environment = LocalTopologyTests.EnvironmentInBlocks(121);
    private string _root = null!;

    [SetUp]
    public void CreateRoot() => _root = Directory.CreateDirectory($"/dev/shm/vg-{Guid.NewGuid():N}"[..20]).FullName; // postgres must traverse it; short: socket paths max 107 bytes

    [TearDown]
    public void RemoveRoot()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Test]
    public async Task An_address_already_in_use_is_refused_before_anything_starts()
    {
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(Environment.Region("abuja").Redis.EndPoint);
        squatter.Listen();

        var refused = await StartExpectingFailureAsync(Options());
        TestContext.Out.WriteLine(refused.Message);

        Assert.Multiple(() =>
        {
            Assert.That(refused.Message, Does.Contain("127.0.122.3:6379").And.Contain("./resilience down").And.Contain("Nothing was started"));
            Assert.That(RunDirectoriesLeft(), Is.Empty, "no run directory left");
            Assert.That(LinkProbe.IsListening(Environment.Region("lagos").Postgres.EndPoint), Is.False);
        });
    }

    [Test]
    public async Task A_udp_address_in_use_is_refused_before_anything_starts()
    {
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        squatter.Bind(Environment.Region("lagos").Engine.EndPoint);

        var refused = await StartExpectingFailureAsync(Options());

        Assert.Multiple(() =>
        {
            Assert.That(refused.Message, Does.Contain("127.0.121.2:5070 (udp)").And.Contain("Nothing was started"));
            Assert.That(RunDirectoriesLeft(), Is.Empty);
        });
    }

    [Test]
    public async Task A_server_failing_midway_tears_down_everything_already_started()
    {
        // Engines that exit at once: the SIP tier fails while both data tiers are still starting beside it.
        var failed = await StartExpectingFailureAsync(Options() with { Engines = new ExitingEngines() });
        TestContext.Out.WriteLine(failed.Message);

        Assert.Multiple(() =>
        {
            Assert.That(failed.Message, Does.Contain("lagos-engine").And.Contain("did not start").And.Contain("Everything it had started was stopped"));
            Assert.That(RunDirectoriesLeft(), Is.Empty, "no run directory (and so no process of it) left");
            foreach (var region in Environment.Regions)
            {
                Assert.That(LinkProbe.IsListening(region.Postgres.EndPoint), Is.False, $"{region.Name}'s PostgreSQL stopped");
                Assert.That(LinkProbe.IsListening(region.Redis.EndPoint), Is.False, $"{region.Name}'s Redis stopped");
                Assert.That(LinkProbe.IsListening(region.Sip.TcpEndPoint), Is.False, $"{region.Name}'s Kamailio stopped");
            }
        });
    }

    /// <summary>Starts, and stops at once whatever did start, so a start that wrongly succeeds cannot leak into the next test.</summary>
    private static async Task<TopologyStartException> StartExpectingFailureAsync(LocalTopologyOptions options)
    {
        try
        {
            await using var started = await LocalTopology.StartAsync(Environment, options);
        }
        catch (TopologyStartException exception)
        {
            return exception;
        }

        Assert.Fail("The topology started although it should not have.");
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>Engine processes that exit immediately (a broken engine build, say).</summary>
    private sealed class ExitingEngines : IEngineLauncher
    {
        public Task PrepareAsync(EnvironmentDefinition environment, RunDirectory run, CancellationToken cancellationToken) => Task.CompletedTask;

        public ProcessSpec SpecFor(EnvironmentDefinition environment, RunDirectory run, RegionDefinition region) =>
            new(EngineStandIn.ProcessName(region), "false", "coreutils");

        public Task<string?> ReadyForLoadAsync(RegionDefinition region, ManagedProcess engine, CancellationToken cancellationToken) => Task.FromResult<string?>(null);
    }

    // The run root itself goes when its last run does.
    private IEnumerable<string> RunDirectoriesLeft() => Directory.Exists(_root) ? Directory.EnumerateFileSystemEntries(_root) : [];

    private LocalTopologyOptions Options() => new()
    {
        LinkApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        RunDirectory = new RunDirectoryOptions { Root = _root },
    };
}

using System.Net;
using VoxGuard.Resilience.Sip.Load;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Local;

namespace VoxGuard.Resilience.Engine.Tests;

/// <summary>
/// The ACM engine in its place: the whole local topology with voxguard-engine behind every Kamailio, calls from the
/// harness's own UAC through HAProxy. Every answered call is stamped by its region and its writes are in the
/// primaries. Blocks 127.0.161–163.x, balancer 127.0.0.161.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class AcmEngineTopologyTests
{
    private static readonly EnvironmentDefinition Environment = TestPaths.LocalInBlocks(161);

    private LocalTopology _topology = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _topology = await LocalTopology.StartAsync(Environment, new LocalTopologyOptions { Engines = EngineLauncher.Instance });

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_topology is not null)
        {
            await _topology.DisposeAsync();
        }
    }

    [Test]
    public async Task Open_loop_calls_through_the_balancer_are_answered_by_the_engines_which_write_every_call_to_both_primaries()
    {
        // The engines' readiness calls wrote before the load: the counts below are the load's own.
        var writesBefore = AcknowledgedWrites();
        var rowsBefore = await RowsAsync();
        Assert.That(writesBefore, Has.Count.EqualTo(2 * Environment.Regions.Count * EngineLauncher.ReadyRounds * EngineLauncher.ReadyCallsPerRound),
            "every engine answered its readiness calls, both writes acknowledged, before the topology was declared healthy");
        var load = await OpenLoopLoad.RunAsync(new LoadProfile
        {
            Target = Environment.Balancer.SipEndPoint,
            Transport = SipTransportKind.Tcp,
            CallsPerSecond = 50,
            Duration = TimeSpan.FromSeconds(2),
            HoldTime = TimeSpan.FromMilliseconds(100),
            FirstSource = IPAddress.Parse("127.0.164.1"),
            SourceCount = 20,
        });
        var records = load.Calls;
        var acknowledged = AcknowledgedWrites().ExceptBy(writesBefore.Select(entry => (entry.Store, entry.Id)), entry => (entry.Store, entry.Id)).ToList();
        var rows = await RowsAsync() - rowsBefore;
        var byRegion = records.Where(record => record.Succeeded).GroupBy(record => record.Region ?? "none").ToDictionary(group => group.Key, group => group.Count());
        TestContext.Out.WriteLine(string.Join(", ", byRegion.Select(pair => $"{pair.Key} {pair.Value}")));
        TestContext.Out.WriteLine(string.Join(" | ", records.Where(record => !record.Succeeded).Select(record => $"{record.Outcome} {record.StatusCode} {record.FailureReason}").Distinct()));

        Assert.Multiple(() =>
        {
            Assert.That(records.Count(record => record.Succeeded), Is.EqualTo(100));
            Assert.That(byRegion.Keys, Is.EquivalentTo(new[] { "lagos", "abuja", "asaba" }), "every answer carries its region");
            Assert.That(byRegion["lagos"], Is.EqualTo(70), "round robin 70/15/15, one connection per call");
            Assert.That(acknowledged.Count(entry => entry.Store == WriteStore.Postgres), Is.EqualTo(100));
            Assert.That(acknowledged.Count(entry => entry.Store == WriteStore.Redis), Is.EqualTo(100));
            Assert.That(rows, Is.EqualTo(100));
        });
    }

    private List<WriteLogEntry> AcknowledgedWrites() =>
        [.. Environment.Regions
            .Select(region => EngineLauncher.WriteLogPath(_topology.Run, region.Name))
            .Where(File.Exists)
            .SelectMany(WriteLog.Read)
            .Where(entry => entry.Outcome == WriteOutcome.Acknowledged)];

    private async Task<long> RowsAsync() => Convert.ToInt64(await _topology.Postgres.ScalarAsync("lagos", "SELECT count(DISTINCT call_id) FROM voxguard_writes"));
}

using System.Globalization;
using System.Text.RegularExpressions;
using VoxGuard.Resilience.Engine;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Tests.Shared;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Drills.Tests;

/// <summary>
/// A topology one scenario leaves to the next (<see cref="ScenarioRun.LeaveTopology"/>, <see cref="ScenarioRun.ContinueAsync"/>):
/// taken when the servers confirm the state it was left in, with the earlier scenario's writes out of the new one's
/// accounting; refused — a fresh topology started — when the check finds anything. The tests run in order on real
/// servers (ci profile). Blocks 127.0.231–233.x, balancer 127.0.0.231.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class LeftTopologyTests
{
    private static readonly EnvironmentDefinition Environment = EnvironmentLoader.Parse(LocalEnvironmentInBlocks.Yaml(231, 231), "local-in-231.yaml", "ci");
    private ScenarioRun? _run;
    private string? _firstRunDirectory;
    private IReadOnlyList<string> _firstWrites = [];
    private readonly string _reports = Path.Combine(Path.GetTempPath(), $"voxguard-left-topology-{Guid.NewGuid():N}");

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (Directory.Exists(_reports))
        {
            Directory.Delete(_reports, recursive: true);
        }

        if (_run is not null)
        {
            await _run.DisposeAsync();
        }

        await ScenarioRun.DisposeLeftTopologyAsync();
    }

    [Test]
    [Order(1)]
    public async Task With_nothing_left_a_run_starts_a_fresh_topology_and_says_so()
    {
        _run = await ScenarioRun.ContinueAsync("left-topology-first", Environment, TopologyCondition.Healthy);
        await _run.StartLoad(callsPerSecond: 20, duration: TimeSpan.FromSeconds(2));
        _firstRunDirectory = _run.Topology.Run.Path;
        _firstWrites = [.. _run.WritesOf(WriteStore.Postgres).Where(write => write.Acknowledged is not null).Select(write => write.Id)];

        Assert.Multiple(() =>
        {
            Assert.That(_run.ContinuesFrom, Is.Null);
            Assert.That(_run.Steps[0].Name, Does.StartWith("topology: a fresh one"));
            Assert.That(_firstWrites, Is.Not.Empty, "the load wrote through the engines");
        });
    }

    [Test]
    [Order(2)]
    public async Task A_topology_left_healthy_is_taken_after_the_check_and_the_earlier_runs_writes_are_not_the_next_ones()
    {
        Assert.That(await TopologyCondition.Healthy.ProblemsAsync(_run!.Topology), Is.Empty, "a fresh topology is healthy");
        await _run.WriteReportAsync(_reports, load: null);
        _run.LeaveTopology(TopologyCondition.Healthy);
        await _run.DisposeAsync();
        _run = await ScenarioRun.ContinueAsync("left-topology-second", Environment, TopologyCondition.Healthy);

        var before = await _run.ReadBackAsync(WriteStore.Postgres);
        await _run.StartLoad(callsPerSecond: 20, duration: TimeSpan.FromSeconds(2));
        var writes = _run.WritesOf(WriteStore.Postgres);
        var readBack = await _run.ReadBackAsync(WriteStore.Postgres);
        await _run.WriteReportAsync(_reports, load: null);
        var firstLogs = ServerLogOffsets(await File.ReadAllTextAsync(Path.Combine(_reports, "left-topology-first-server-logs.txt")));
        var secondLogs = ServerLogOffsets(await File.ReadAllTextAsync(Path.Combine(_reports, "left-topology-second-server-logs.txt")));

        Assert.Multiple(() =>
        {
            Assert.That(_run.ContinuesFrom, Is.EqualTo("left-topology-first"));
            Assert.That(_run.Topology.Run.Path, Is.EqualTo(_firstRunDirectory), "the same servers");
            Assert.That(_run.Steps[0].Name, Does.StartWith("topology: the one left-topology-first left, checked healthy"));
            Assert.That(before, Is.Empty, "what the first run wrote is not read back as this run's");
            Assert.That(writes.Select(write => write.Id), Has.None.AnyOf(_firstWrites), "nor counted as written by it");
            Assert.That(writes.Where(write => write.Acknowledged is not null).Select(write => write.Id), Is.SubsetOf(readBack), "its own writes are read back");
            // Every line of the servers, each in the report of the run it was logged in: a run that started its topology
            // has the start (before its clock, so negative offsets) with the engines' first line; the next run only its own.
            Assert.That(firstLogs.Lines.Where(line => line.Offset < 0).Select(line => line.Text), Has.Some.Contains("answering; writes logged to"));
            Assert.That(secondLogs.Servers, Does.Contain("lagos-patroni"), "Patroni logs every loop");
            Assert.That(secondLogs.Lines.Select(line => line.Offset), Is.All.GreaterThanOrEqualTo(-0.05), "nothing from before the second run");
            Assert.That(secondLogs.Lines.Select(line => line.Text), Has.None.Contains("answering; writes logged to"));
        });
    }

    /// <summary>The servers and the lines (offset from the scenario's start, text) of a server-logs attachment.</summary>
    private static (IReadOnlyList<string> Servers, IReadOnlyList<(double Offset, string Text)> Lines) ServerLogOffsets(string text)
    {
        var servers = Regex.Matches(text, @"^=== (\S+) \(", RegexOptions.Multiline).Select(match => match.Groups[1].Value).ToList();
        var lines = Regex.Matches(text, @"^\d\d:\d\d:\d\d\.\d{3} +([+-]\d+\.\d{3}) s (?:out|err) (.*)$", RegexOptions.Multiline)
            .Select(match => (double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), match.Groups[2].Value)).ToList();
        Assert.That(lines, Is.Not.Empty, text);
        return (servers, lines);
    }

    [Test]
    [Order(3)]
    public async Task A_topology_left_healthy_with_a_link_still_shaped_is_refused_and_a_fresh_one_started()
    {
        await _run!.Topology.ShapeLinkAsync("abuja-lagos-pg", ToxicSpec.Latency(TimeSpan.FromMilliseconds(300)));
        _run.LeaveTopology(TopologyCondition.Healthy);
        await _run.DisposeAsync();
        _run = await ScenarioRun.ContinueAsync("left-topology-third", Environment, TopologyCondition.Healthy);

        Assert.Multiple(() =>
        {
            Assert.That(_run.ContinuesFrom, Is.Null);
            Assert.That(_run.Topology.Run.Path, Is.Not.EqualTo(_firstRunDirectory));
            Assert.That(Directory.Exists(_firstRunDirectory), Is.False, "the refused topology is stopped");
            Assert.That(_run.Steps[0].Name, Does.Contain("abuja-lagos-pg").And.Contain("beyond the documented latency"));
        });
    }

    [Test]
    [Order(4)]
    public async Task After_a_replica_regions_loss_the_loss_condition_holds_and_healthy_does_not()
    {
        await _run!.Topology.KillRegionAsync("asaba");
        await _run.Topology.Sip.WaitUntilStateAsync("asaba", BalancerServerStatus.Down, TimeSpan.FromSeconds(10));

        // The loss condition is what the survivors reach by themselves: when Asaba's etcd member led, Lagos's reports
        // no quorum until Lagos and Abuja have elected a leader (seen once in a fresh-clone run), so it is awaited.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        var afterLoss = await TopologyCondition.AfterLossOf("asaba").ProblemsAsync(_run.Topology);
        while (afterLoss.Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            afterLoss = await TopologyCondition.AfterLossOf("asaba").ProblemsAsync(_run.Topology);
        }

        var healthy = await TopologyCondition.Healthy.ProblemsAsync(_run.Topology);

        Assert.Multiple(() =>
        {
            Assert.That(afterLoss, Is.Empty);
            Assert.That(healthy, Has.Some.Contains("asaba-redis").And.Some.Contains("balancer/asaba").And.Some.Contains("link abuja-asaba-pg: cut"));
        });
    }
}

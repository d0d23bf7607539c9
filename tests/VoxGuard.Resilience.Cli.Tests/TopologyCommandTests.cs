using System.Net;
using System.Text.RegularExpressions;

namespace VoxGuard.Resilience.Cli.Tests;

/// <summary>
/// <c>up</c>, <c>status</c> and <c>down</c> as a user runs them, against the real servers. The environment is
/// environments/local.yaml moved to blocks 127.0.131–133.x (balancer 127.0.0.131) with the ci profile, so a
/// topology someone has up on the local addresses is not disturbed; every CLI runs in the tests' own run root
/// (<see cref="CliProcess.RunRoot"/>), so <c>down</c> stops and reaps only what these tests started.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class TopologyCommandTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private string _environmentFile = null!;

    [OneTimeSetUp]
    public void WriteEnvironment() => _environmentFile = EnvironmentFile.WriteInBlocks(131, 131);

    [OneTimeTearDown]
    public void RemoveEnvironment() => File.Delete(_environmentFile);

    [Test]
    public async Task Up_serves_a_healthy_topology_that_status_shows_and_down_stops_completely()
    {
        using var up = StartUp();
        await up.WaitForOutputAsync("Serving until", StartTimeout);
        var status = await CliProcess.RunAsync("status");
        var load = await CliProcess.RunAsync("load", "--target", "127.0.0.131:5060", "--cps", "20", "--duration", "2s", "--hold", "200ms", "--sources", "127.0.134.1/4");
        var logs = Regex.Match(status.Output, @"Server logs: (/\S+)/<server>\.log").Groups[1].Value;
        var logFiles = Directory.Exists(logs) ? Directory.GetFiles(logs).Select(Path.GetFileName).ToList() : [];
        var patroniLog = logFiles.Contains("lagos-patroni.log") ? await File.ReadAllLinesAsync(Path.Combine(logs, "lagos-patroni.log")) : [];
        var down = await CliProcess.RunAsync("down");
        var upExit = await up.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var afterDown = await CliProcess.RunAsync("status");

        Assert.Multiple(() =>
        {
            Assert.That(status.ExitCode, Is.Zero, status.Error);
            Assert.That(status.Output, Does.Contain("3/3 regions UP").And.Contain("names lagos master").And.Contain("standby"));
            // Every server's every line, in the run directory while it is up.
            Assert.That(up.Output, Does.Contain($"Server logs: {logs}/<server>.log"));
            Assert.That(logFiles, Is.SupersetOf(new[] { "lagos-patroni.log", "abuja-patroni.log", "lagos-kamailio.log", "lagos-redis.log", "lagos-engine.log" }));
            Assert.That(patroniLog, Has.Some.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (out|err) .*lagos"), "Patroni's lines, each after the time it was read");
            Assert.That(load.ExitCode, Is.Zero, load.Error);
            Assert.That(load.Output, Does.Contain("succeeded          40 (100.00 %)"));
            // Each region's own setup times, and its first response (the path without the engine's writes).
            Assert.That(load.Output, Does.Match(@"region lagos +[0-9]+ answered \([0-9.]+ %\)  setup p50 [0-9.]+ ms / p99 [0-9.]+ ms, first response p50 [0-9.]+ ms / p99 [0-9.]+ ms"));
            Assert.That(load.Output, Does.Match(@"generator's share  INVITE sent p50 [0-9.]+ ms / p99 [0-9.]+ ms after the call started"));
            Assert.That(load.Output, Does.Match(@"schedule           calls started p50 [0-9.]+ ms / p99 [0-9.]+ ms / max [0-9.]+ ms after their due time"));
            // What the figures were measured on: the whole host's CPU over the run.
            Assert.That(load.Output, Does.Match(@"host CPU           [0-9]+ % busy \(every process\), [0-9.]+ % taken by the hypervisor \(steal\), over the run"));
            Assert.That(down.ExitCode, Is.Zero, down.Error);
            Assert.That(down.Output, Does.Contain("1 running topology stopped"));
            Assert.That(upExit, Is.Zero);
            Assert.That(up.Output, Does.Contain("no process, port or directory left"));
            Assert.That(afterDown.ExitCode, Is.EqualTo(2));
            Assert.That(afterDown.Error, Does.Contain("No topology is up"));
            Assert.That(Directory.Exists(logs), Is.False, "the logs go with the run directory");
            Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.131.4"), 5432)), Is.False);
            Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.0.131"), 5060)), Is.False);
        });
    }

    [Test]
    public async Task Down_reaps_every_server_a_killed_up_left_behind()
    {
        // up (and so its engines) gets a temporary directory of its own, to show what the .NET runtimes of a killed run
        // leave there and that down removes it; down itself runs with the usual one.
        var temporary = Directory.CreateTempSubdirectory("vgr-killed-up-").FullName;
        try
        {
            using var up = CliProcess.StartWith(new Dictionary<string, string> { ["TMPDIR"] = temporary }, UpArguments);
            await up.WaitForOutputAsync("Serving until", StartTimeout);
            up.SendSignal("KILL");
            await up.WaitForExitAsync(TimeSpan.FromSeconds(10));
            var orphanedRedis = Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.131.3"), 6379));
            var runtimeFilesLeft = DotnetRuntimeFilesIn(temporary);

            var down = await CliProcess.RunAsync("down");

            Assert.Multiple(() =>
            {
                Assert.That(runtimeFilesLeft, Has.Exactly(4).StartsWith("dotnet-diagnostic-"),
                    "the killed harness's and its three engines' diagnostic ports, left behind");
                Assert.That(DotnetRuntimeFilesIn(temporary), Is.Empty, "down removed what the killed runtimes left");
                Assert.That(orphanedRedis, Is.True, "a killed harness leaves its servers running until something reaps them");
                Assert.That(down.ExitCode, Is.Zero, down.Error);
                Assert.That(down.Output, Does.Contain("1 abandoned run(s) reaped"));
                Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.131.3"), 6379)), Is.False);
                Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.132.4"), 5432)), Is.False, "PostgreSQL, detached from its Patroni, found by its postmaster.pid");
                Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.132.4"), 8008)), Is.False, "Patroni's API");
                Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.131.5"), 2379)), Is.False, "etcd");
                Assert.That(Loopback.IsListening(new IPEndPoint(IPAddress.Parse("127.0.133.1"), 5060)), Is.False);
            });
        }
        finally
        {
            Directory.Delete(temporary, recursive: true);
        }
    }

    [Test]
    public async Task Up_with_a_broken_environment_file_starts_nothing_and_names_the_problem()
    {
        var broken = Path.Combine(Path.GetTempPath(), $"voxguard-broken-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(broken, File.ReadAllText(_environmentFile).Replace("weight: 70", "weight: seventy", StringComparison.Ordinal));
        try
        {
            var up = await CliProcess.RunAsync("up", "--env", broken, "--profile", "ci");

            Assert.Multiple(() =>
            {
                Assert.That(up.ExitCode, Is.EqualTo(2));
                Assert.That(up.Error, Does.Contain(broken).And.Contain("weight"));
                Assert.That(up.Output, Does.Not.Contain("links up"), "nothing was started");
            });
        }
        finally
        {
            File.Delete(broken);
        }
    }

    private static string[] DotnetRuntimeFilesIn(string directory) =>
        [.. Directory.GetFileSystemEntries(directory).Select(path => Path.GetFileName(path))
            .Where(name => name.StartsWith("dotnet-diagnostic-", StringComparison.Ordinal) || name.StartsWith("clr-debug-pipe-", StringComparison.Ordinal))];

    private string[] UpArguments => ["up", "--env", _environmentFile, "--profile", "ci", "--link-api", "127.0.0.1:0"];

    private CliProcess StartUp() => CliProcess.Start(UpArguments);
}

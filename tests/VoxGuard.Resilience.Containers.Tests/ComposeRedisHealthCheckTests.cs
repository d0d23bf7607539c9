using System.Diagnostics;
using System.Net;
using VoxGuard.Resilience.Topology.Processes;
using YamlDotNet.RepresentationModel;

namespace VoxGuard.Resilience.Containers.Tests;

/// <summary>
/// docker-compose.chaos.yml's Redis health checks, run as written against real redis-servers on this machine: a master
/// counts as healthy only once a replica streams from it, so a master left alone (a stale one, replaced by Sentinel
/// while it was down) keeps the project from looking healthy. No engine needed. Blocks 127.0.242.x.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class ComposeRedisHealthCheckTests
{
    private static readonly IPEndPoint Master = new(IPAddress.Parse("127.0.242.13"), 6379);
    private static readonly IPEndPoint Replica = new(IPAddress.Parse("127.0.242.23"), 6379);

    [Test]
    public async Task A_master_is_healthy_only_once_a_replica_streams_from_it_and_the_replica_once_it_streams()
    {
        var masterCheck = HealthCheckOf("redis-lagos", Master);
        var replicaCheck = HealthCheckOf("redis-abuja", Replica);
        await using var run = RunDirectory.Create();

        await StartRedisAsync(run, "lagos-redis", Master);
        var alone = await PassesAsync(masterCheck);
        await StartRedisAsync(run, "abuja-redis", Replica, "--replicaof", Master.Address.ToString(), "6379");
        var replicaPassed = false;
        var masterPassed = false;
        await WaitStrategy.UntilAsync(async _ =>
        {
            replicaPassed = await PassesAsync(replicaCheck);
            masterPassed = await PassesAsync(masterCheck);
            return replicaPassed && masterPassed;
        }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(200), "the replica to stream from the master");

        Assert.Multiple(() =>
        {
            Assert.That(alone, Is.False, "a master nobody replicates from is not healthy");
            Assert.That(masterPassed, Is.True, "the master with a replica streaming from it");
            Assert.That(replicaPassed, Is.True, "the replica streaming from its master");
        });
    }

    /// <summary>The service's health check command from the compose file, pointed at <paramref name="server"/> instead of the container's own port.</summary>
    private static string HealthCheckOf(string service, IPEndPoint server)
    {
        var test = (YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)ComposeFileTests.Read()["services"])[service])["healthcheck"])["test"];
        Assert.That(test[0].ToString(), Is.EqualTo("CMD-SHELL"), $"{service}: a shell command");
        var command = test[1].ToString();
        var portOption = System.Text.RegularExpressions.Regex.Match(command, @"redis-cli -p \d+");
        Assert.That(portOption.Success, $"{service}: '{command}' asks redis-cli on the container's own port");
        return command.Replace(portOption.Value, $"redis-cli -h {server.Address} -p {server.Port}", StringComparison.Ordinal);
    }

    private static async Task StartRedisAsync(RunDirectory run, string name, IPEndPoint endPoint, params string[] more)
    {
        var redis = await run.StartProcessAsync(new ProcessSpec(name, "redis-server", "redis-server")
        {
            Arguments = ["--bind", endPoint.Address.ToString(), "--port", endPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--save", "", "--appendonly", "no", "--protected-mode", "no", .. more],
        });
        await redis.WaitUntilReadyAsync(WaitStrategy.UntilTcpPortOpen(endPoint).WithTimeout(TimeSpan.FromSeconds(10)));
    }

    private static async Task<bool> PassesAsync(string command)
    {
        using var check = Process.Start(new ProcessStartInfo("bash", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        await check.WaitForExitAsync();
        return check.ExitCode == 0;
    }
}

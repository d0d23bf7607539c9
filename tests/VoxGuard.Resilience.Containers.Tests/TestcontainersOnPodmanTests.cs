using System.Diagnostics;
using System.Net;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Configurations;
using Npgsql;
using Testcontainers.PostgreSql;
using Testcontainers.Redis;
using VoxGuard.Resilience.Tests.Shared;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Containers.Tests;

/// <summary>
/// The containers environment's footing, on this machine's engine (Podman's API service when there is no Docker): the
/// images ./resilience images build makes, started through Testcontainers' Redis module, reached through a published
/// port, and nothing left when the run ends — containers and the Podman service alike.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Functional")]
public sealed class TestcontainersOnPodmanTests
{
    private TopologyImages _images = null!;

    [OneTimeSetUp]
    public async Task BuildImagesAsync()
    {
        var started = Stopwatch.GetTimestamp();
        _images = await TopologyImages.EnsureBuiltAsync(LocalEnvironmentInBlocks.RepositoryRoot, serversOnly: true);
        TestContext.Progress.WriteLine($"servers image ready in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s: {_images.Servers}");
    }

    [Test]
    public async Task Redis_from_the_servers_image_starts_through_testcontainers_answers_on_its_published_port_and_leaves_nothing()
    {
        var run = RunDirectory.Create();
        ContainerEngine engine;
        string? container;
        int? servicePid;
        await using (run)
        {
            engine = await ContainerEngine.StartAsync(run);
            TestContext.Out.WriteLine($"engine: {engine.Name}");
            servicePid = run.Process("podman-service")?.Pid;
            await using (engine)
            {
                // The Debian image has no entrypoint: the command is the server's own, and protected mode is off because
                // port-forwarded connections arrive from the bridge, not from loopback.
                var redis = new RedisBuilder(_images.Servers)
                    .WithDockerEndpoint(engine.Endpoint)
                    .WithImagePullPolicy(_ => false)
                    .WithLabel(ContainerEngine.RunLabel, engine.RunId)
                    .WithCommand("redis-server", "--protected-mode", "no")
                    .Build();
                await redis.StartAsync();
                container = redis.Id;
                var endpoint = new IPEndPoint(IPAddress.Loopback, redis.GetMappedPublicPort(6379));
                await RespClient.CommandAsync(endpoint, CancellationToken.None, "SET", "voxguard:smoke", "through podman");
                var value = await RespClient.CommandAsync(endpoint, CancellationToken.None, "GET", "voxguard:smoke");
                Assert.Multiple(async () =>
                {
                    Assert.That(value, Is.EqualTo("through podman"));
                    Assert.That(redis.State, Is.EqualTo(TestcontainersStates.Running));
                    Assert.That(await engine.ContainersOfRunAsync(), Has.Count.EqualTo(1), "the container carries the run's label");
                });
            }

            Assert.That(await engine.ContainersOfRunAsync(), Is.Empty, "disposing the engine removes the run's containers");
        }

        Assert.Multiple(() =>
        {
            Assert.That(container, Is.Not.Null);
            Assert.That(servicePid is null || !Directory.Exists($"/proc/{servicePid}"), Is.True, "the Podman service stops with its run");
        });
    }

    [Test]
    public async Task PostgreSQL_from_the_servers_image_keeps_durability_on_where_the_modules_default_turns_it_off()
    {
        await using var run = RunDirectory.Create();
        await using var engine = await ContainerEngine.StartAsync(run);
        // The module's own command: -c fsync=off -c full_page_writes=off -c synchronous_commit=off.
        var moduleDefault = DurabilityOf(await StartedPostgresAsync(engine, overrideCommand: false));
        // The harness's: PostgreSQL's defaults (every commit flushed), or an RPO measured on it would lie.
        var durable = DurabilityOf(await StartedPostgresAsync(engine, overrideCommand: true));

        Assert.Multiple(async () =>
        {
            Assert.That(await moduleDefault, Is.EqualTo(("off", "off", "off")), "Testcontainers' PostgreSql module turns durability off unless told otherwise");
            Assert.That(await durable, Is.EqualTo(("on", "on", "on")));
        });
    }

    [Test]
    public async Task The_containers_networks_and_volumes_of_a_run_that_died_are_reaped_by_the_next()
    {
        // A container labelled with a run whose directory no longer exists: what a kill -9 leaves once the run
        // directory's reaper has removed the rest.
        var run = RunDirectory.Create();
        string orphan;
        await using (run)
        {
            await using var engine = await ContainerEngine.StartAsync(run);
            var container = new ContainerBuilder(_images.Servers)
                .WithDockerEndpoint(engine.Endpoint)
                .WithImagePullPolicy(_ => false)
                .WithLabel(ContainerEngine.RunLabel, "20260101T000000Z-1-1")
                .WithCommand("sleep", "300")
                .Build();
            await container.StartAsync();
            orphan = container.Id;
            // And a region's network of that run (RegionHostContainers labels them the same way).
            await PodmanAsync("network", "create", "--internal", "--label", $"{ContainerEngine.RunLabel}=20260101T000000Z-1-1", "voxguard-20260101T000000Z-1-1-lagos");
            // And docker-compose.chaos.yml's volume of that run; beside it one with the label empty, as the compose file
            // labels a project a person started: that one is never the harness's to remove.
            await PodmanAsync("volume", "create", "--label", $"{ContainerEngine.RunLabel}=20260101T000000Z-1-1", "voxguard-20260101T000000Z-1-1-config");
            await PodmanAsync("volume", "create", "--label", $"{ContainerEngine.RunLabel}=", "voxguard-reaper-test-peoples-config");
        }

        try
        {
            var reaped = await ContainerEngine.ReapAbandonedAsync(RunDirectory.DefaultRoot);
            var volumes = await PodmanAsync("volume", "ls", "--format", "{{.Name}}");

            Assert.Multiple(async () =>
            {
                Assert.That(reaped, Is.GreaterThanOrEqualTo(3));
                Assert.That(await PodmanAsync("ps", "--all", "--quiet", "--filter", $"id={orphan}"), Is.Empty);
                Assert.That(await PodmanAsync("network", "ls", "--format", "{{.Name}}"), Does.Not.Contain("voxguard-20260101T000000Z-1-1-lagos"));
                Assert.That(volumes, Does.Not.Contain("voxguard-20260101T000000Z-1-1-config"));
                Assert.That(volumes, Does.Contain("voxguard-reaper-test-peoples-config"), "a project with no run is left alone");
            });
        }
        finally
        {
            await PodmanAsync("volume", "rm", "--force", "voxguard-reaper-test-peoples-config");
        }
    }

    private async Task<PostgreSqlContainer> StartedPostgresAsync(ContainerEngine engine, bool overrideCommand)
    {
        var builder = new PostgreSqlBuilder(_images.Servers)
            .WithDockerEndpoint(engine.Endpoint)
            .WithImagePullPolicy(_ => false)
            .WithLabel(ContainerEngine.RunLabel, engine.RunId)
            .WithPassword("voxguard-test");
        if (overrideCommand)
        {
            builder = builder.WithCommand(new OverwriteEnumerable<string>(["postgres"]));
        }

        var postgres = builder.Build();
        await postgres.StartAsync();
        return postgres;
    }

    private static async Task<(string Fsync, string FullPageWrites, string SynchronousCommit)> DurabilityOf(PostgreSqlContainer postgres)
    {
        await using var connection = new NpgsqlConnection(postgres.GetConnectionString());
        await connection.OpenAsync();
        async Task<string> Show(string setting)
        {
            await using var command = new NpgsqlCommand($"SHOW {setting}", connection);
            return (string)(await command.ExecuteScalarAsync())!;
        }

        return (await Show("fsync"), await Show("full_page_writes"), await Show("synchronous_commit"));
    }

    private static async Task<string> PodmanAsync(params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo("/usr/bin/podman", arguments) { RedirectStandardOutput = true })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output.Trim();
    }
}

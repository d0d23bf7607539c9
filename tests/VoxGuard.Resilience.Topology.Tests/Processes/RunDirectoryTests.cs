using System.Text.Json;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Tests.Processes;

/// <summary>The run directory: run.json, checks before anything starts, and disposal that leaves nothing behind.</summary>
[TestFixture]
public sealed class RunDirectoryTests : ScratchFixture
{
    [Test]
    public void Run_json_records_the_harness_pid_its_proc_start_time_and_when_the_run_began()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var run = Scratch.CreateRun();

        using var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.Path, "run.json")));
        var root = record.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(run.Path, Is.EqualTo(Path.Combine(Scratch.Root, run.RunId)));
            Assert.That(Directory.Exists(run.Path), Is.True);
            Assert.That(root.GetProperty("runId").GetString(), Is.EqualTo(run.RunId));
            Assert.That(root.GetProperty("harnessPid").GetInt32(), Is.EqualTo(Environment.ProcessId));
            Assert.That(root.GetProperty("harnessStartTime").GetUInt64(), Is.EqualTo(Proc.StartTime(Environment.ProcessId)), "field 22 of /proc/self/stat");
            Assert.That(root.GetProperty("createdAt").GetDateTimeOffset(), Is.InRange(before, DateTimeOffset.UtcNow.AddSeconds(1)));
            Assert.That(root.GetProperty("bootId").GetString(), Is.EqualTo(Proc.BootId));
        });
    }

    [Test]
    public void The_default_root_is_on_dev_shm_when_it_exists_and_in_tmp_otherwise()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RunDirectory.DefaultRootFor(sharedMemoryExists: true), Is.EqualTo("/dev/shm/voxguard-resilience"));
            Assert.That(RunDirectory.DefaultRootFor(sharedMemoryExists: false), Is.EqualTo("/tmp/voxguard-resilience"));
            Assert.That(RunDirectory.DefaultRoot, Is.EqualTo(Directory.Exists("/dev/shm") ? "/dev/shm/voxguard-resilience" : "/tmp/voxguard-resilience"));
        });
    }

    [Test]
    public void Invalid_options_are_all_reported_in_one_message()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            RunDirectory.Create(new RunDirectoryOptions { Root = "relative/runs", DisposeGracePeriod = TimeSpan.FromSeconds(-1) }));

        Assert.That(error!.Message, Does.StartWith("Invalid run directory options: ")
            .And.Contain("root 'relative/runs' must be an absolute path").And.Contain("must not be negative"));
    }

    [Test]
    public void Run_ids_are_unique_within_one_harness()
    {
        var first = Scratch.CreateRun();
        var second = Scratch.CreateRun();

        Assert.That(second.RunId, Is.Not.EqualTo(first.RunId));
    }

    [Test]
    public void A_missing_executable_fails_with_one_clear_error_and_starts_nothing()
    {
        var run = Scratch.CreateRun();
        var spec = new ProcessSpec("lagos-kamailio", "voxguard-test-no-such-kamailio", "kamailio") { Arguments = ["-DD"] };

        var error = Assert.ThrowsAsync<ServerProcessException>(() => run.StartProcessAsync(spec));

        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.StartWith("Cannot start lagos-kamailio: voxguard-test-no-such-kamailio is not installed (")
                .And.EndWith(": apt-get install -y kamailio, or run ./resilience which installs it."));
            Assert.That(error.ProcessName, Is.EqualTo("lagos-kamailio"));
            Assert.That(error.Executable, Is.EqualTo("voxguard-test-no-such-kamailio"));
            Assert.That(error.Pid, Is.Null);
            Assert.That(run.Processes, Is.Empty);
            Assert.That(Directory.EnumerateFiles(run.Path), Is.EqualTo(new[] { Path.Combine(run.Path, "run.json") }));
        });
    }

    [Test]
    public void Every_spec_can_be_checked_before_anything_starts_naming_every_missing_package()
    {
        var specs = new[]
        {
            Specs.Sleep("lagos-sleeper"),
            new ProcessSpec("lagos-kamailio", "voxguard-test-no-such-kamailio", "kamailio"),
            new ProcessSpec("lagos-redis", "/opt/voxguard-test/no-such-redis-server", "redis-server"),
        };

        var error = Assert.Throws<ServerProcessException>(() => ProcessSpec.EnsureInstalled(specs));

        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.StartWith("Cannot start lagos-kamailio, lagos-redis: ")
                .And.Contain("voxguard-test-no-such-kamailio, /opt/voxguard-test/no-such-redis-server are not installed")
                .And.EndWith("apt-get install -y kamailio redis-server, or run ./resilience which installs them."));
            Assert.That(() => ProcessSpec.EnsureInstalled([Specs.Sleep(), Specs.Shell("shell", "true")]), Throws.Nothing);
        });
    }

    [TestCase("")]
    [TestCase("../escape")]
    [TestCase(".hidden")]
    [TestCase("with space")]
    public void A_name_that_is_not_a_plain_file_name_is_refused(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => _ = new ProcessSpec(name, "sleep", "coreutils"));

        Assert.That(error!.Message, Does.StartWith("Invalid process spec: name"));
    }

    [Test]
    public async Task Disposing_the_run_directory_kills_every_process_and_removes_the_directory()
    {
        var run = Scratch.CreateRun();
        var sleeper = await run.StartProcessAsync(Specs.Sleep());
        var shell = await run.StartProcessAsync(Specs.Shell("group", "sleep 300 & sleep 300 & wait"));
        var paused = await run.StartProcessAsync(Specs.Sleep("paused"));
        await paused.PauseAsync();
        Assert.That(await Proc.EventuallyAsync(() => Proc.LiveGroupMembers(shell.Pid).Count == 3), Is.True);
        var pids = new[] { sleeper.Pid, paused.Pid }.Concat(Proc.LiveGroupMembers(shell.Pid)).ToList();

        await run.DisposeAsync();

        Assert.Multiple(() =>
        {
            Assert.That(Directory.Exists(run.Path), Is.False);
            Assert.That(pids.Where(Proc.IsRunning), Is.Empty);
            Assert.That(new[] { sleeper, shell, paused }.Select(process => process.HasExited), Is.All.True);
            Assert.That(() => run.Dispose(), Throws.Nothing, "idempotent");
            Assert.That(async () => await run.DisposeAsync(), Throws.Nothing, "idempotent");
            Assert.That(() => run.StartProcessAsync(Specs.Sleep()), Throws.InstanceOf<ObjectDisposedException>());
        });
    }

    [Test]
    public async Task A_run_closed_at_the_harness_s_exit_starts_no_more_servers_and_keeps_the_ones_it_has_for_the_cleanup()
    {
        // What the exit cleanup does first (a SIGTERM while a topology is starting on another thread).
        var run = Scratch.CreateRun();
        var running = await run.StartProcessAsync(Specs.Sleep("running"));

        run.CloseForExit();

        Assert.Multiple(() =>
        {
            Assert.That(() => run.StartProcessAsync(Specs.Sleep("late")), Throws.InstanceOf<ObjectDisposedException>(), "a start after the close");
            Assert.That(run.Processes.Select(process => process.Name), Is.EqualTo(new[] { "running" }), "the late one was never launched");
            Assert.That(running.HasExited, Is.False, "killing what it has is the cleanup's next step, not the close's");
        });
        await running.DisposeAsync();
    }

    [Test]
    public async Task Disposing_with_a_grace_period_lets_servers_exit_on_sigterm()
    {
        var run = Scratch.CreateRun(disposeGrace: TimeSpan.FromSeconds(5));
        var graceful = await run.StartProcessAsync(Specs.Shell("graceful", "trap 'exit 7' TERM; echo ready; while :; do sleep 0.1; done"));
        await graceful.WaitUntilReadyAsync(WaitStrategy.UntilOutputContains("ready").WithTimeout(TimeSpan.FromSeconds(5)));

        run.Dispose();

        Assert.That(graceful.ExitCode, Is.EqualTo(7));
    }

    [Test]
    public async Task Two_live_runs_of_one_harness_leave_each_other_alone()
    {
        var first = Scratch.CreateRun();
        var sleeper = await first.StartProcessAsync(Specs.Sleep());

        var second = Scratch.CreateRun();

        Assert.Multiple(() =>
        {
            Assert.That(second.Reaped.LiveRunsLeftAlone, Does.Contain(first.RunId));
            Assert.That(second.Reaped.RunsReaped, Is.Empty);
            Assert.That(Directory.Exists(first.Path), Is.True);
            Assert.That(Proc.IsRunning(sleeper.Pid), Is.True);
        });
    }
}

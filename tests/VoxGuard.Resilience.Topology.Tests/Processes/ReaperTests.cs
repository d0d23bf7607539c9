using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Tests.Processes;

/// <summary>
/// Reaping what crashed runs left: run directories written by hand (or by a shell standing in for the harness),
/// with real processes recorded in them.
/// </summary>
[TestFixture]
public sealed class ReaperTests : ScratchFixture
{
    [Test]
    public async Task A_run_whose_harness_is_dead_has_its_live_servers_killed_and_its_directory_removed()
    {
        var server = await Scratch.StartDetachedAsync("/usr/bin/sleep", "300");
        var run = WriteRun("crashed", Scratch.DeadPid(), harnessStartTime: 1);
        WritePidFile(run, "lagos-redis", server.Id, Proc.StartTime(server.Id));

        var report = Reaper.ReapAbandonedRuns(Scratch.Root);

        Assert.Multiple(() =>
        {
            Assert.That(report.RunsReaped, Is.EqualTo(new[] { "crashed" }));
            Assert.That(report.ProcessesKilled, Is.EqualTo(new[] { new ReapedProcess("crashed", "lagos-redis", server.Id) }));
            Assert.That(report.LiveRunsLeftAlone, Is.Empty);
            Assert.That(Proc.IsRunning(server.Id), Is.False);
            Assert.That(Directory.Exists(run), Is.False);
        });
    }

    [Test]
    public async Task A_recorded_server_is_killed_with_its_whole_process_group()
    {
        var server = await Scratch.StartDetachedAsync("/bin/sh", "-c", "sleep 300 & sleep 300 & wait");
        Assert.That(await Proc.EventuallyAsync(() => Proc.LiveGroupMembers(server.Id).Count == 3), Is.True);
        var members = Proc.LiveGroupMembers(server.Id);
        var run = WriteRun("crashed", Scratch.DeadPid(), harnessStartTime: 1);
        WritePidFile(run, "lagos-kamailio", server.Id, Proc.StartTime(server.Id));

        Reaper.ReapAbandonedRuns(Scratch.Root);

        Assert.That(members.Where(Proc.IsRunning), Is.Empty);
    }

    [Test]
    public async Task A_pid_file_whose_start_time_does_not_match_is_never_killed()
    {
        var stranger = await Scratch.StartDetachedAsync("/usr/bin/sleep", "300");
        var run = WriteRun("crashed", Scratch.DeadPid(), harnessStartTime: 1);
        WritePidFile(run, "lagos-redis", stranger.Id, Proc.StartTime(stranger.Id) - 1);

        var report = Reaper.ReapAbandonedRuns(Scratch.Root);

        Assert.Multiple(() =>
        {
            Assert.That(Proc.IsRunning(stranger.Id), Is.True, "a reused PID belongs to someone else");
            Assert.That(report.ProcessesKilled, Is.Empty);
            Assert.That(report.RunsReaped, Is.EqualTo(new[] { "crashed" }));
            Assert.That(report.Notes, Has.One.Contains("lagos-redis").And.Contains("another process"));
            Assert.That(Directory.Exists(run), Is.False);
        });
    }

    [Test]
    public async Task A_run_whose_harness_is_alive_is_left_alone()
    {
        var harness = await Scratch.StartDetachedAsync("/usr/bin/sleep", "300");
        var server = await Scratch.StartDetachedAsync("/usr/bin/sleep", "300");
        var run = WriteRun("running", harness.Id, Proc.StartTime(harness.Id));
        WritePidFile(run, "lagos-redis", server.Id, Proc.StartTime(server.Id));

        var report = Reaper.ReapAbandonedRuns(Scratch.Root);

        Assert.Multiple(() =>
        {
            Assert.That(report.LiveRunsLeftAlone, Is.EqualTo(new[] { "running" }));
            Assert.That(report.RunsReaped, Is.Empty);
            Assert.That(Proc.IsRunning(server.Id), Is.True);
            Assert.That(Directory.Exists(run), Is.True);
        });
    }

    [Test]
    public async Task A_harness_pid_now_used_by_another_process_counts_as_gone()
    {
        var server = await Scratch.StartDetachedAsync("/usr/bin/sleep", "300");
        var run = WriteRun("reused", Environment.ProcessId, Proc.StartTime(Environment.ProcessId) + 1);
        WritePidFile(run, "lagos-redis", server.Id, Proc.StartTime(server.Id));

        var report = Reaper.ReapAbandonedRuns(Scratch.Root);

        Assert.Multiple(() =>
        {
            Assert.That(report.RunsReaped, Is.EqualTo(new[] { "reused" }));
            Assert.That(Proc.IsRunning(server.Id), Is.False);
        });
    }

    [Test]
    public async Task Records_from_another_boot_are_removed_without_killing_anything()
    {
        var server = await Scratch.StartDetachedAsync("/usr/bin/sleep", "300");
        var run = WriteRun("last-boot", server.Id, Proc.StartTime(server.Id), bootId: "00000000-0000-0000-0000-000000000000");
        WritePidFile(run, "lagos-redis", server.Id, Proc.StartTime(server.Id), bootId: "00000000-0000-0000-0000-000000000000");

        var report = Reaper.ReapAbandonedRuns(Scratch.Root);

        Assert.Multiple(() =>
        {
            Assert.That(report.RunsReaped, Is.EqualTo(new[] { "last-boot" }));
            Assert.That(report.ProcessesKilled, Is.Empty);
            Assert.That(Proc.IsRunning(server.Id), Is.True);
        });
    }

    [Test]
    public void A_fresh_directory_without_run_json_may_be_a_run_being_created_and_is_left_alone()
    {
        var run = Directory.CreateDirectory(Path.Combine(Scratch.Root, "being-created")).FullName;

        var report = Reaper.ReapAbandonedRuns(Scratch.Root);

        Assert.Multiple(() =>
        {
            Assert.That(Directory.Exists(run), Is.True);
            Assert.That(report.RunsReaped, Is.Empty);
            Assert.That(report.Notes, Has.One.Contains("being-created"));
        });
    }

    [Test]
    public void A_missing_root_has_nothing_to_reap()
    {
        Assert.That(Reaper.ReapAbandonedRuns(Path.Combine(Scratch.Root, "nowhere")), Is.SameAs(ReapReport.Empty));
    }

    /// <summary>
    /// End to end: a shell plays the harness, writing run.json for its own PID and start time and the PID file of a
    /// server it starts with setsid; while it lives a new run leaves it alone; after kill -9 the next run reaps it.
    /// </summary>
    [Test]
    public async Task The_next_run_reaps_what_a_harness_killed_with_sigkill_left_running()
    {
        const string script = """
            dir="$1/shell-harness"; mkdir -p "$dir"
            boot=$(cat /proc/sys/kernel/random/boot_id)
            start() { cut -d' ' -f22 "/proc/$1/stat"; }
            setsid sleep 300 &
            server=$!
            printf '{"name":"lagos-redis","pid":%s,"startTime":%s,"bootId":"%s","commandLine":["setsid","sleep","300"]}' \
              "$server" "$(start $server)" "$boot" > "$dir/lagos-redis.pid"
            printf '{"runId":"shell-harness","harnessPid":%s,"harnessStartTime":%s,"createdAt":"2025-01-01T00:00:00Z","bootId":"%s"}' \
              "$$" "$(start $$)" "$boot" > "$dir/run.json"
            echo written
            wait
            """;
        var harness = await Scratch.StartDetachedAsync("/bin/sh", "-c", script, "harness", Scratch.Root);
        var runJson = Path.Combine(Scratch.Root, "shell-harness", "run.json");
        Assert.That(await Proc.EventuallyAsync(() => File.Exists(runJson)), Is.True, "the shell harness wrote its run");
        var server = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Scratch.Root, "shell-harness", "lagos-redis.pid"))).RootElement.GetProperty("pid").GetInt32();
        // setsid forks and execs sleep: until the exec, the server's name is still setsid (76 ms was not enough on a busy host).
        Assert.That(await Proc.EventuallyAsync(() => Proc.Comm(server) == "sleep"), Is.True, "the shell harness's server became sleep");

        var whileAlive = Scratch.CreateRun();
        harness.Kill(); // kill -9 the harness: its server keeps running
        await harness.WaitForExitAsync();
        var serverSurvivedTheHarness = Proc.IsRunning(server);
        var next = Scratch.CreateRun();

        Assert.Multiple(() =>
        {
            Assert.That(whileAlive.Reaped.LiveRunsLeftAlone, Is.EqualTo(new[] { "shell-harness" }));
            Assert.That(serverSurvivedTheHarness, Is.True);
            Assert.That(next.Reaped.RunsReaped, Is.EqualTo(new[] { "shell-harness" }));
            Assert.That(next.Reaped.ProcessesKilled, Is.EqualTo(new[] { new ReapedProcess("shell-harness", "lagos-redis", server) }));
            Assert.That(next.Reaped.LiveRunsLeftAlone, Does.Contain(whileAlive.RunId));
            Assert.That(Proc.IsRunning(server), Is.False);
            Assert.That(Directory.Exists(Path.Combine(Scratch.Root, "shell-harness")), Is.False);
            Assert.That(Directory.Exists(next.Path), Is.True);
        });
    }

    [Test]
    public async Task Runs_created_and_removed_side_by_side_on_one_root_never_trip_each_others_reaper()
    {
        // Two harnesses on one root (test projects in lanes): each start reaps, and a run the other removes between
        // the listing and the look inside is a finished run, not an abandoned one that cannot be read.
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var lanes = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 150; i++)
            {
                try
                {
                    using var run = RunDirectory.Create(new RunDirectoryOptions { Root = Scratch.Root });
                }
                catch (Exception exception)
                {
                    failures.Enqueue(exception);
                }
            }
        }));

        await Task.WhenAll(lanes);

        Assert.That(failures.Select(failure => $"{failure.GetType().Name}: {failure.Message}").Distinct(), Is.Empty);
    }

    private string WriteRun(string runId, int harnessPid, ulong harnessStartTime, string? bootId = null)
    {
        var directory = Directory.CreateDirectory(Path.Combine(Scratch.Root, runId)).FullName;
        File.WriteAllText(Path.Combine(directory, "run.json"), JsonSerializer.Serialize(new
        {
            runId,
            harnessPid,
            harnessStartTime,
            createdAt = DateTimeOffset.UtcNow,
            bootId = bootId ?? Proc.BootId,
        }));
        return directory;
    }

    private static void WritePidFile(string run, string name, int pid, ulong startTime, string? bootId = null) =>
        File.WriteAllText(Path.Combine(run, name + ".pid"), JsonSerializer.Serialize(new
        {
            name,
            pid,
            startTime,
            bootId = bootId ?? Proc.BootId,
            commandLine = new[] { "/usr/bin/setsid", "/usr/bin/sleep", "300" },
            runAsUser = (string?)null,
        }));
}

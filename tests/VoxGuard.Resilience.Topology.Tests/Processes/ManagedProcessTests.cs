using System.Globalization;
using System.Diagnostics;
using System.Text.Json;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Tests.Processes;

/// <summary>Real processes (sleep, sh) started, signalled and watched through a run directory.</summary>
[TestFixture]
public sealed class ManagedProcessTests : RunFixture
{
    [Test]
    public async Task A_started_process_is_the_server_itself_leading_its_own_process_group_and_session()
    {
        var sleeper = await Run.StartProcessAsync(Specs.Sleep());

        var stat = Proc.Stat(sleeper.Pid)!.Value;
        Assert.Multiple(() =>
        {
            Assert.That(Proc.Comm(sleeper.Pid), Is.EqualTo("sleep"), "setsid must exec the server without forking");
            Assert.That(stat.Group, Is.EqualTo(sleeper.Pid));
            Assert.That(stat.Session, Is.EqualTo(sleeper.Pid));
            Assert.That(sleeper.StartTime, Is.EqualTo(stat.StartTime));
            Assert.That(sleeper.CommandLine[0], Does.EndWith("/setsid"));
            Assert.That(sleeper.CommandLine[1], Does.EndWith("/sleep"));
            Assert.That(sleeper.CommandLine[2], Is.EqualTo("300"));
            Assert.That(Proc.Environ(sleeper.Pid), Does.Contain($"{RunDirectory.RunIdVariable}={Run.RunId}\0"));
            Assert.That(sleeper.HasExited, Is.False);
            Assert.That(sleeper.ExitCode, Is.Null);
        });
    }

    [Test]
    public async Task Its_pid_file_records_the_pid_the_proc_start_time_and_the_command_line()
    {
        var sleeper = await Run.StartProcessAsync(Specs.Sleep("lagos-redis"));

        using var record = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Run.Path, "lagos-redis.pid")));
        var root = record.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("name").GetString(), Is.EqualTo("lagos-redis"));
            Assert.That(root.GetProperty("pid").GetInt32(), Is.EqualTo(sleeper.Pid));
            Assert.That(root.GetProperty("startTime").GetUInt64(), Is.EqualTo(Proc.StartTime(sleeper.Pid)));
            Assert.That(root.GetProperty("bootId").GetString(), Is.EqualTo(Proc.BootId));
            Assert.That(root.GetProperty("commandLine").EnumerateArray().Select(item => item.GetString()), Is.EqualTo(sleeper.CommandLine));
        });
    }

    [Test]
    public async Task Kill_sigkills_the_server_and_returns_once_it_exited_with_monotonic_timestamps()
    {
        var sleeper = await Run.StartProcessAsync(Specs.Sleep());
        var before = TimeProvider.System.GetTimestamp();

        var exit = await sleeper.KillAsync();

        Assert.Multiple(() =>
        {
            Assert.That(exit.ExitCode, Is.EqualTo(137), "128 + SIGKILL");
            Assert.That(exit.Name, Is.EqualTo("sleeper"));
            Assert.That(exit.Pid, Is.EqualTo(sleeper.Pid));
            Assert.That(exit.SignalledAt, Is.GreaterThanOrEqualTo(before));
            Assert.That(exit.ExitedAt, Is.GreaterThanOrEqualTo(exit.SignalledAt!.Value));
            Assert.That(exit.ExitedAt, Is.LessThanOrEqualTo(TimeProvider.System.GetTimestamp()));
            Assert.That(sleeper.HasExited, Is.True);
            Assert.That(sleeper.ExitCode, Is.EqualTo(137));
            Assert.That(Proc.IsRunning(sleeper.Pid), Is.False);
        });
    }

    [Test]
    public async Task Killing_a_shell_kills_every_process_of_its_group()
    {
        var shell = await Run.StartProcessAsync(Specs.Shell("group", "sleep 300 & sleep 300 & wait"));
        Assert.That(await Proc.EventuallyAsync(() => Proc.LiveGroupMembers(shell.Pid).Count == 3), Is.True, "sh and its two sleeps");
        var members = Proc.LiveGroupMembers(shell.Pid);

        await shell.KillAsync();

        Assert.Multiple(() =>
        {
            Assert.That(members.Where(Proc.IsRunning), Is.Empty, "no child survives");
            Assert.That(Proc.LiveGroupMembers(shell.Pid), Is.Empty);
        });
    }

    [Test]
    public async Task Pause_stops_every_process_of_the_group_and_resume_continues_them()
    {
        var shell = await Run.StartProcessAsync(Specs.Shell("group", "sleep 300 & sleep 300 & wait"));
        Assert.That(await Proc.EventuallyAsync(() => Proc.LiveGroupMembers(shell.Pid).Count == 3), Is.True);
        var members = Proc.LiveGroupMembers(shell.Pid);

        await shell.PauseAsync();
        var paused = members.Select(pid => Proc.Stat(pid)!.Value.State).ToList();
        var pausedFlag = shell.IsPaused;
        await shell.ResumeAsync();
        var resumed = members.Select(pid => Proc.Stat(pid)!.Value.State).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(paused, Is.All.EqualTo('T'));
            Assert.That(pausedFlag, Is.True);
            Assert.That(resumed, Has.None.EqualTo('T'));
            Assert.That(shell.IsPaused, Is.False);
            Assert.That(shell.HasExited, Is.False);
        });
    }

    [Test]
    public async Task Pause_holds_a_shell_caught_in_vfork_whose_child_stopped_before_its_exec()
    {
        // dash vforks each command: a SIGSTOP that lands between the vfork and the child's exec leaves the shell in state
        // D, waiting for a child that is stopped, with its own SIGSTOP pending. It can never reach T; it runs nothing either.
        // About 2 % of SIGSTOPs land there (59 of 3000 measured), so 150 pauses meet it with near certainty.
        var shell = await Run.StartProcessAsync(Specs.Shell("vforking", "while :; do sleep 0.005; done"));
        var heldInVfork = 0;
        for (var round = 0; round < 150; round++)
        {
            await shell.PauseAsync();
            heldInVfork += ProcFs.LiveGroupMembers(shell.Pid).Count(member => member.State == 'D');
            await shell.ResumeAsync();
        }

        TestContext.Out.WriteLine($"pauses that found a member held in the kernel (D) with its SIGSTOP pending: {heldInVfork} of 150");
        Assert.That(shell.HasExited, Is.False);
    }

    [TestCase("SigPnd:\t0000000000000000\nShdPnd:\t0000000000050000\n", true)]
    [TestCase("SigPnd:\t0000000000040000\nShdPnd:\t0000000000000000\n", true)]
    [TestCase("SigPnd:\t0000000000000000\nShdPnd:\t0000000000010000\n", false)]
    [TestCase("State:\tD (disk sleep)\n", false)]
    [TestCase(null, false)]
    public void A_pending_sigstop_is_read_from_either_pending_set(string? status, bool pending) =>
        Assert.That(ProcFs.StopPendingIn(status), Is.EqualTo(pending));

    [Test]
    public async Task Stop_sends_sigterm_first_so_the_server_exits_with_its_own_code()
    {
        var graceful = await Run.StartProcessAsync(Specs.Shell("graceful", "trap 'exit 7' TERM; echo ready; while :; do sleep 0.1; done"));
        await graceful.WaitUntilReadyAsync(WaitStrategy.UntilOutputContains("ready").WithTimeout(TimeSpan.FromSeconds(5)));

        var exit = await graceful.StopAsync(TimeSpan.FromSeconds(5));

        Assert.That(exit.ExitCode, Is.EqualTo(7));
    }

    [Test]
    public async Task Stop_continues_a_paused_server_so_that_it_can_act_on_sigterm()
    {
        var graceful = await Run.StartProcessAsync(Specs.Shell("graceful", "trap 'exit 7' TERM; echo ready; while :; do sleep 0.1; done"));
        await graceful.WaitUntilReadyAsync(WaitStrategy.UntilOutputContains("ready").WithTimeout(TimeSpan.FromSeconds(5)));
        await graceful.PauseAsync();

        var exit = await graceful.StopAsync(TimeSpan.FromSeconds(5));

        Assert.That(exit.ExitCode, Is.EqualTo(7));
    }

    [Test]
    public async Task Stop_sigkills_a_server_that_ignores_sigterm_once_the_grace_period_is_over()
    {
        var stubborn = await Run.StartProcessAsync(Specs.Shell("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.1; done"));
        await stubborn.WaitUntilReadyAsync(WaitStrategy.UntilOutputContains("ready").WithTimeout(TimeSpan.FromSeconds(5)));
        var watch = Stopwatch.StartNew();

        var exit = await stubborn.StopAsync(TimeSpan.FromMilliseconds(300));

        Assert.Multiple(() =>
        {
            Assert.That(exit.ExitCode, Is.EqualTo(137));
            Assert.That(watch.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(290)).And.LessThan(TimeSpan.FromSeconds(5)));
            Assert.That(Proc.LiveGroupMembers(stubborn.Pid), Is.Empty);
        });
    }

    [Test]
    public async Task A_server_killed_from_outside_is_seen_to_exit()
    {
        var sleeper = await Run.StartProcessAsync(Specs.Sleep());

        using (var kill = Process.Start(new ProcessStartInfo("/bin/kill", ["-KILL", sleeper.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!)
        {
            await kill.WaitForExitAsync();
        }

        var exit = await sleeper.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Multiple(() =>
        {
            Assert.That(exit.ExitCode, Is.EqualTo(137));
            Assert.That(exit.SignalledAt, Is.Null, "the harness sent no signal");
            Assert.That(sleeper.HasExited, Is.True);
        });
    }

    [Test]
    public async Task A_main_process_that_exits_while_its_children_hold_its_output_is_seen_to_exit_and_kill_ends_the_children()
    {
        var parent = await Run.StartProcessAsync(Specs.Shell("crashing", "sleep 300 & echo \"child $!\"; exit 3"));
        var exit = await parent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        var children = Proc.LiveGroupMembers(parent.Pid);

        var afterKill = await parent.KillAsync();

        Assert.Multiple(() =>
        {
            Assert.That(exit.ExitCode, Is.EqualTo(3));
            Assert.That(children, Has.Count.EqualTo(1), "the sleep outlived sh, holding its stdout and stderr");
            Assert.That(afterKill, Is.SameAs(exit), "the earlier exit is reported");
            Assert.That(children.Where(Proc.IsRunning), Is.Empty, "kill ends what the main process left in its group");
        });
    }

    [Test]
    public async Task A_name_runs_once_at_a_time_and_can_be_started_again_after_it_exited()
    {
        var first = await Run.StartProcessAsync(Specs.Sleep("lagos-kamailio"));

        var twice = Assert.ThrowsAsync<ServerProcessException>(() => Run.StartProcessAsync(Specs.Sleep("lagos-kamailio")));
        await first.KillAsync();
        var second = await Run.StartProcessAsync(Specs.Sleep("lagos-kamailio"));

        using var record = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Run.Path, "lagos-kamailio.pid")));
        Assert.Multiple(() =>
        {
            Assert.That(twice!.Message, Does.Contain("lagos-kamailio").And.Contain("already running"));
            Assert.That(second.Pid, Is.Not.EqualTo(first.Pid));
            Assert.That(Run.Process("lagos-kamailio"), Is.SameAs(second));
            Assert.That(Run.Processes, Has.Count.EqualTo(1));
            Assert.That(record.RootElement.GetProperty("pid").GetInt32(), Is.EqualTo(second.Pid));
        });
    }

    [Test]
    public async Task Concurrent_starts_of_one_name_start_it_once()
    {
        var starts = new[] { Run.StartProcessAsync(Specs.Sleep("lagos-redis")), Run.StartProcessAsync(Specs.Sleep("lagos-redis")) };

        var outcomes = await Task.WhenAll(starts.Select(async start =>
        {
            try
            {
                return (await start).Pid;
            }
            catch (ServerProcessException)
            {
                return 0;
            }
        }));

        Assert.Multiple(() =>
        {
            Assert.That(outcomes.Count(pid => pid != 0), Is.EqualTo(1));
            Assert.That(Run.Processes, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task Output_is_captured_keeping_the_last_50_lines_of_each_stream()
    {
        var chatty = await Run.StartProcessAsync(Specs.Shell("chatty",
            "i=1; while [ $i -le 60 ]; do echo \"err $i\" >&2; echo \"out $i\"; i=$((i+1)); done; exit 3"));

        var exit = await chatty.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(await Proc.EventuallyAsync(() => chatty.StandardErrorTail.LastOrDefault() == "err 60" && chatty.StandardOutputTail.LastOrDefault() == "out 60"), Is.True);

        Assert.Multiple(() =>
        {
            Assert.That(exit.ExitCode, Is.EqualTo(3));
            Assert.That(chatty.ExitCode, Is.EqualTo(3));
            Assert.That(chatty.StandardErrorTail, Has.Count.EqualTo(50));
            Assert.That(chatty.StandardErrorTail[0], Is.EqualTo("err 11"));
            Assert.That(chatty.StandardOutputTail, Has.Count.EqualTo(50));
        });
    }

    [Test]
    public async Task A_server_can_run_as_an_unprivileged_user_and_keep_its_pid()
    {
        if (!Proc.IsRoot || !File.ReadLines("/etc/passwd").Any(line => line.StartsWith("nobody:", StringComparison.Ordinal)))
        {
            Assert.Ignore("Switching users needs a root harness and the user nobody.");
        }

        var sleeper = await Run.StartProcessAsync(new ProcessSpec("sleeper", "sleep", "coreutils") { Arguments = ["300"], RunAsUser = "nobody" });

        Assert.Multiple(() =>
        {
            Assert.That(Proc.Comm(sleeper.Pid), Is.EqualTo("sleep"), "setpriv must exec without forking");
            Assert.That(Proc.Uid(sleeper.Pid), Is.EqualTo(65534));
            Assert.That(Proc.Stat(sleeper.Pid)!.Value.Group, Is.EqualTo(sleeper.Pid));
            Assert.That(sleeper.CommandLine, Does.Contain("--reuid=nobody").And.Contain("--init-groups"));
        });
    }

    [Test]
    public void Running_as_a_user_that_does_not_exist_fails_before_anything_starts()
    {
        var spec = new ProcessSpec("lagos-postgres", "sleep", "postgresql") { Arguments = ["300"], RunAsUser = "voxguard-no-such-user" };

        var error = Assert.ThrowsAsync<ServerProcessException>(() => Run.StartProcessAsync(spec));

        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.Contain("lagos-postgres").And.Contain("voxguard-no-such-user").And.Contain("no such user"));
            Assert.That(Run.Processes, Is.Empty);
            Assert.That(Directory.EnumerateFiles(Run.Path, "*.pid"), Is.Empty);
        });
    }
    [Test]
    public async Task A_server_can_run_in_another_network_namespace_as_a_region_container_s_and_keep_its_pid()
    {
        if (!Proc.IsRoot)
        {
            Assert.Ignore("Entering a network namespace needs a root harness.");
        }

        var name = $"voxguard-test-{Guid.NewGuid():N}"[..28];
        await IpAsync("netns", "add", name);
        ManagedProcess? sleeper = null;
        try
        {
            sleeper = await Run.StartProcessAsync(new ProcessSpec("lagos-redis", "sleep", "coreutils")
            {
                Arguments = ["300"],
                NetworkNamespace = $"/run/netns/{name}",
                RunAsUser = "nobody",
            });

            Assert.Multiple(() =>
            {
                Assert.That(Proc.Comm(sleeper.Pid), Is.EqualTo("sleep"), "nsenter must exec without forking");
                Assert.That(Proc.Stat(sleeper.Pid)!.Value.Group, Is.EqualTo(sleeper.Pid));
                Assert.That(Proc.Uid(sleeper.Pid), Is.EqualTo(65534), "the user switch happens inside the namespace");
                Assert.That(sleeper.CommandLine, Does.Contain($"--net=/run/netns/{name}"));
            });
            // ip netns identify names the namespace a PID's network stack is.
            Assert.That((await IpAsync("netns", "identify", sleeper.Pid.ToString(CultureInfo.InvariantCulture))).Trim(), Is.EqualTo(name));
            Assert.That((await IpAsync("netns", "identify", Environment.ProcessId.ToString(CultureInfo.InvariantCulture))).Trim(), Is.Empty);
        }
        finally
        {
            if (sleeper is not null)
            {
                await sleeper.KillAsync();
            }

            await IpAsync("netns", "delete", name);
        }
    }

    [Test]
    public void A_network_namespace_that_does_not_exist_fails_before_anything_starts_naming_it()
    {
        if (!Proc.IsRoot)
        {
            Assert.Ignore("Entering a network namespace needs a root harness.");
        }

        var spec = new ProcessSpec("lagos-redis", "sleep", "coreutils") { Arguments = ["300"], NetworkNamespace = "/run/netns/voxguard-no-such-region" };

        var error = Assert.ThrowsAsync<ServerProcessException>(() => Run.StartProcessAsync(spec));

        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.Contain("lagos-redis").And.Contain("/run/netns/voxguard-no-such-region").And.Contain("does not exist"));
            Assert.That(Run.Processes, Is.Empty);
            Assert.That(Directory.EnumerateFiles(Run.Path, "*.pid"), Is.Empty);
        });
    }

    /// <summary>Runs iproute2's ip; asserts it succeeded and returns what it printed.</summary>
    private static async Task<string> IpAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var ip = Process.Start(start)!;
        var output = ip.StandardOutput.ReadToEndAsync();
        var error = await ip.StandardError.ReadToEndAsync();
        await ip.WaitForExitAsync();
        Assert.That(ip.ExitCode, Is.Zero, $"ip {string.Join(' ', arguments)}: {error}");
        return await output;
    }
}

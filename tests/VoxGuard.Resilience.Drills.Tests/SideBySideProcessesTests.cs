using System.Diagnostics;
using VoxGuard.Resilience.Tests.Shared;

namespace VoxGuard.Resilience.Drills.Tests;

/// <summary>The drill's scenario shares as real child processes (<c>sh</c>): their exit codes in order, every line logged.</summary>
[TestFixture]
public sealed class SideBySideProcessesTests
{
    [Test]
    public async Task Every_exit_code_comes_back_in_order_with_every_line_logged_and_progress_while_they_run()
    {
        using var log = new StringWriter();
        var ticks = 0;

        var codes = await SideBySideProcesses.RunAsync(
            [Shell("echo first out; echo first err >&2; sleep 0.4; exit 3"), Shell("echo second; exit 0")],
            log, () => ticks++, TimeSpan.FromMilliseconds(50));

        var lines = log.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            Assert.That(codes, Is.EqualTo(new[] { 3, 0 }));
            Assert.That(lines, Is.EquivalentTo(new[] { "first out", "first err", "second" }));
            Assert.That(ticks, Is.GreaterThanOrEqualTo(2), "progress ran while the slower child was alive");
        });
    }

    [Test]
    public void Cancelling_waits_for_every_child_to_exit_and_then_throws()
    {
        using var log = new StringWriter();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var started = Stopwatch.GetTimestamp();

        Assert.CatchAsync<OperationCanceledException>(() => SideBySideProcesses.RunAsync([Shell("sleep 1; echo done")], log, null, TimeSpan.FromMilliseconds(50), cancel.Token));

        // The child is not killed (a scenario host tears its topology down on the same Ctrl-C): it ran to its end.
        Assert.That(Stopwatch.GetElapsedTime(started), Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(0.9)));
    }

    [Test]
    public async Task Children_still_running_after_the_stop_grace_get_sigterm_with_their_descendants_but_not_other_sessions()
    {
        // What a child that never heard the stop does (the drill alone was sent SIGTERM): a shell waiting on a grandchild,
        // beside a process in a session of its own (as a test host's servers are: their owner stops them, in order).
        using var log = new StringWriter();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var started = Stopwatch.GetTimestamp();

        Assert.CatchAsync<OperationCanceledException>(() => SideBySideProcesses.RunAsync(
            [Shell("setsid sleep 61 & echo $!; sleep 60 & echo $!; wait")], log, null, TimeSpan.FromMilliseconds(50), cancel.Token, stopGrace: TimeSpan.FromMilliseconds(200)));
        var took = Stopwatch.GetElapsedTime(started);
        var pids = log.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        var (server, grandchild) = (pids[0], pids[1]);
        await Proc.EventuallyAsync(() => !Proc.IsRunning(grandchild), TimeSpan.FromSeconds(2));
        var serverLeftAlone = Proc.IsRunning(server);
        using (var kill = Process.Start("kill", ["-KILL", server.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(30)), "the child was stopped, not waited out");
            Assert.That(Proc.IsRunning(grandchild), Is.False, "its own child (sleep) got SIGTERM too");
            Assert.That(serverLeftAlone, Is.True, "a process in a session of its own is its owner's to stop");
        });
    }

    private static ProcessStartInfo Shell(string script) => new("sh") { ArgumentList = { "-c", script } };
}

using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Tests.Processes;

/// <summary>Real processes (sh) whose every line goes to their log file in the run directory, read back through windows.</summary>
[TestFixture]
public sealed class ServerLogTests : RunFixture
{
    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Every_line_of_both_streams_is_logged_with_the_time_it_was_read_though_memory_keeps_fifty()
    {
        var before = DateTimeOffset.UtcNow;
        var talker = await Run.StartProcessAsync(Specs.Shell("talker", "i=1; while [ $i -le 120 ]; do echo line $i; i=$((i+1)); done; echo oops >&2"));
        await talker.WaitForExitAsync();
        await EventuallyLoggedAsync("talker", 121);

        var excerpt = ServerLogWindow.FromFirstLine(Run).Read(1000).Single();
        Assert.Multiple(() =>
        {
            Assert.That(excerpt.Server, Is.EqualTo("talker"));
            Assert.That(excerpt.Omitted, Is.Zero);
            Assert.That(excerpt.Lines.Where(line => line.Stream == "out").Select(line => line.Text), Is.EqualTo(Enumerable.Range(1, 120).Select(n => $"line {n}")));
            Assert.That(excerpt.Lines.Where(line => line.Stream == "err").Select(line => line.Text), Is.EqualTo(new[] { "oops" }));
            Assert.That(excerpt.Lines.Select(line => line.At), Is.All.InRange(before.AddMilliseconds(-1), DateTimeOffset.UtcNow), "the time the harness read each line");
            Assert.That(talker.StandardOutputTail, Has.Count.EqualTo(50), "memory keeps the last 50 lines of a stream");
            Assert.That(File.ReadAllLines(Path.Combine(Run.Path, "logs", "talker.log")).First(line => line.Contains(" out ", StringComparison.Ordinal)), Does.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z out line 1$"));
            Assert.That(File.GetUnixFileMode(Path.Combine(Run.Path, "logs")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute),
                "the logs are the harness user's alone");
        });
    }

    [Test]
    public async Task A_window_holds_only_what_was_logged_after_it_opened_and_a_server_started_again_appends_to_its_file()
    {
        var first = await Run.StartProcessAsync(Specs.Shell("lagos-patroni", "echo before the window"));
        await first.WaitForExitAsync();
        await EventuallyLoggedAsync("lagos-patroni", 1);

        var window = ServerLogWindow.Open(Run);
        var again = await Run.StartProcessAsync(Specs.Shell("lagos-patroni", "echo after the window"));
        var newcomer = await Run.StartProcessAsync(Specs.Shell("abuja-redis", "echo started later"));
        await Task.WhenAll(again.WaitForExitAsync(), newcomer.WaitForExitAsync());
        await EventuallyLoggedAsync("lagos-patroni", 2);
        await EventuallyLoggedAsync("abuja-redis", 1);

        var excerpts = window.Read(1000);
        Assert.Multiple(() =>
        {
            Assert.That(excerpts.Select(excerpt => excerpt.Server), Is.EqualTo(new[] { "abuja-redis", "lagos-patroni" }), "by name");
            Assert.That(excerpts[1].Lines.Select(line => line.Text), Is.EqualTo(new[] { "after the window" }));
            Assert.That(excerpts[0].Lines.Select(line => line.Text), Is.EqualTo(new[] { "started later" }), "a server started after the opening, from its first line");
            Assert.That(File.ReadAllLines(Path.Combine(Run.Path, "logs", "lagos-patroni.log")).Select(line => line.Split(' ', 3)[2]),
                Is.EqualTo(new[] { "before the window", "after the window" }));
        });
    }

    [Test]
    public async Task A_server_that_logged_more_than_a_window_keeps_has_its_first_quarter_and_last_three_quarters()
    {
        var talker = await Run.StartProcessAsync(Specs.Shell("talker", "i=1; while [ $i -le 100 ]; do echo line $i; i=$((i+1)); done"));
        await talker.WaitForExitAsync();
        await EventuallyLoggedAsync("talker", 100);

        var excerpt = ServerLogWindow.FromFirstLine(Run).Read(8).Single();
        Assert.Multiple(() =>
        {
            Assert.That(excerpt.Lines.Select(line => line.Text), Is.EqualTo(new[] { 1, 2, 95, 96, 97, 98, 99, 100 }.Select(n => $"line {n}")));
            Assert.That(excerpt.Omitted, Is.EqualTo(92));
            Assert.That(excerpt.OmittedAfter, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task A_command_whose_caller_reads_its_output_keeps_no_log_file()
    {
        var command = await Run.StartProcessAsync(new ProcessSpec("check", "sh", "dash") { Arguments = ["-c", "echo said"], KeepsLogFile = false });
        await command.WaitForExitAsync();

        Assert.Multiple(() =>
        {
            Assert.That(ServerLogWindow.FromFirstLine(Run).Read(1000), Is.Empty);
            Assert.That(File.Exists(Path.Combine(Run.Path, "logs", "check.log")), Is.False);
        });
    }

    [Test]
    public async Task A_server_whose_log_cannot_be_opened_still_starts_and_keeps_its_last_lines_in_memory()
    {
        await File.WriteAllTextAsync(Path.Combine(Run.Path, "logs"), "a file where the logs folder would be");

        var talker = await Run.StartProcessAsync(Specs.Shell("talker", "echo still here"));
        await talker.WaitForExitAsync();
        var kept = await Proc.EventuallyAsync(() => talker.StandardOutputTail.Contains("still here"));

        Assert.Multiple(() =>
        {
            Assert.That(talker.ExitCode, Is.Zero);
            Assert.That(kept, Is.True, "the last lines in memory");
            Assert.That(ServerLogWindow.FromFirstLine(Run).Read(1000), Is.Empty);
        });
    }

    [Test]
    public void A_line_reads_back_as_it_was_written_and_a_cut_one_whole_as_its_text()
    {
        var at = new DateTimeOffset(2026, 12, 7, 11, 40, 1, 123, TimeSpan.Zero);
        var line = new ServerLogLine(at, "err", "FATAL:  could not connect  to the primary server");
        var fallback = at.AddSeconds(5);

        Assert.Multiple(() =>
        {
            Assert.That(ServerLog.Format(line), Is.EqualTo("2026-12-07T11:40:01.123Z err FATAL:  could not connect  to the primary server"));
            Assert.That(ServerLog.Parse(ServerLog.Format(line), fallback), Is.EqualTo(line));
            Assert.That(ServerLog.Parse(ServerLog.Format(line with { Text = string.Empty }), fallback), Is.EqualTo(line with { Text = string.Empty }));
            Assert.That(ServerLog.Parse("nection refused", fallback), Is.EqualTo(new ServerLogLine(fallback, "?", "nection refused")));
            Assert.That(ServerLog.Parse("2026-12-07T11:40:01.123Z in text", fallback), Is.EqualTo(new ServerLogLine(fallback, "?", "2026-12-07T11:40:01.123Z in text")));
        });
    }

    [Test]
    public void A_log_stops_at_its_size_with_a_last_line_saying_so_and_stays_stopped_for_a_server_started_again()
    {
        var at = DateTimeOffset.UtcNow;
        using (var log = ServerLog.Open(Run.Path, "looping", maxBytes: 1000))
        {
            for (var index = 0; index < 100; index++)
            {
                log.Write(at, "err", $"could not connect {index}");
            }
        }

        using (var again = ServerLog.Open(Run.Path, "looping", maxBytes: 1000))
        {
            again.Write(at, "out", "after the restart");
        }

        var lines = File.ReadAllLines(Path.Combine(Run.Path, "logs", "looping.log"));
        Assert.Multiple(() =>
        {
            Assert.That(lines[0], Does.EndWith("err could not connect 0"));
            Assert.That(lines[^1], Does.Contain("this log reached 1000 bytes: later lines are not kept"));
            Assert.That(lines, Has.Length.LessThan(100));
            Assert.That(new FileInfo(Path.Combine(Run.Path, "logs", "looping.log")).Length, Is.LessThan(1000 + 200), "one line past the size, then the last");
        });
    }

    /// <summary>The reader threads write the last lines a moment after the exit is seen.</summary>
    private async Task EventuallyLoggedAsync(string server, int lines)
    {
        var path = Path.Combine(Run.Path, "logs", server + ".log");
        Assert.That(await Proc.EventuallyAsync(() => File.Exists(path) && File.ReadAllLines(path).Length >= lines), Is.True, $"{path}: {lines} lines");
    }
}

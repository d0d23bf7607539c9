using System.Diagnostics;
using VoxGuard.Resilience.Tests.Shared;

namespace VoxGuard.Resilience.Reporting.Tests;

/// <summary>The report's child programs (git, the Allure CLI) with their time limit: real <c>sh</c> processes.</summary>
[TestFixture]
public sealed class ProcessRunnerTests
{
    [Test]
    public async Task A_program_that_finishes_gives_its_exit_code_and_output()
    {
        var result = await ProcessRunner.RunAsync("sh", ["-c", "echo out; echo err >&2; exit 3"], null, TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(3));
            Assert.That(result.Output.Trim(), Is.EqualTo("out"));
            Assert.That(result.Error.Trim(), Is.EqualTo("err"));
        });
    }

    [Test]
    public void A_program_that_overruns_its_limit_is_killed_with_its_children_and_named()
    {
        var started = Stopwatch.GetTimestamp();
        var pidFile = Path.GetTempFileName();
        try
        {
            var timeout = Assert.ThrowsAsync<TimeoutException>(() =>
                ProcessRunner.RunAsync("sh", ["-c", $"sleep 30 & echo $! > {pidFile}; wait"], null, TimeSpan.FromMilliseconds(300)));
            var child = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);

            Assert.Multiple(() =>
            {
                Assert.That(timeout!.Message, Does.Contain("sh -c").And.Contain("was killed"));
                Assert.That(Stopwatch.GetElapsedTime(started), Is.LessThan(TimeSpan.FromSeconds(20)), "it returned once the program was killed, not when it would have ended");
                Assert.That(Proc.IsRunning(child), Is.False, "its child sleep was killed too");
            });
        }
        finally
        {
            File.Delete(pidFile);
        }
    }
}

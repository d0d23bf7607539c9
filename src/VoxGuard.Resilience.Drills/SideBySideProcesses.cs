using System.Diagnostics;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Drills;

/// <summary>
/// Child processes run side by side (the drill runs its scenario shares through it, one share at a time since they
/// starved each other side by side on a slow host): every line they print goes to one log, a progress
/// callback runs while any is alive, and their exit codes come back in the order they were given. On cancellation the
/// children are not killed: from a terminal they receive the same Ctrl-C and tear their topologies down; this waits for
/// that. Those still running after a grace heard nothing (only the drill was sent SIGTERM, or SIGINT was ignored): they
/// and their descendants in their session get SIGTERM (<see cref="ProcessTree.Terminate"/>), which the test hosts clean
/// up after too.
/// </summary>
public static class SideBySideProcesses
{
    /// <summary>
    /// How often the children's exit is checked. Polled (HasExited) rather than awaited: Process.WaitForExitAsync, once
    /// cancelled and called again, never completed for a child that had exited and been reaped (a Drills test hung for
    /// 10 minutes in a fresh-clone suite, .NET 10).
    /// </summary>
    private static readonly TimeSpan ExitPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>How long cancelled children have to exit by themselves before they are sent SIGTERM.</summary>
    public static readonly TimeSpan DefaultStopGrace = TimeSpan.FromSeconds(10);

    /// <summary>Starts every process, waits for all of them and returns their exit codes in order.</summary>
    /// <exception cref="OperationCanceledException">Cancelled (after every child has exited).</exception>
    public static async Task<IReadOnlyList<int>> RunAsync(IReadOnlyList<ProcessStartInfo> starts, TextWriter log, Action? progress,
        TimeSpan progressInterval, CancellationToken cancellationToken = default, TimeSpan? stopGrace = null)
    {
        ArgumentNullException.ThrowIfNull(starts);
        ArgumentNullException.ThrowIfNull(log);
        var processes = new List<Process>();
        var copies = new List<Task>();
        try
        {
            foreach (var start in starts)
            {
                start.RedirectStandardOutput = true;
                start.RedirectStandardError = true;
                start.UseShellExecute = false;
                var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start.");
                processes.Add(process);
                copies.Add(CopyLinesAsync(process.StandardOutput, log, cancellationToken));
                copies.Add(CopyLinesAsync(process.StandardError, log, cancellationToken));
            }

            var nextProgress = TimeSpan.Zero;
            var started = Stopwatch.GetTimestamp();
            while (processes.Exists(process => !process.HasExited))
            {
                if (Stopwatch.GetElapsedTime(started) >= nextProgress)
                {
                    progress?.Invoke();
                    nextProgress += progressInterval;
                }

                await Task.Delay(ExitPoll, cancellationToken).ConfigureAwait(false);
            }

            await Task.WhenAll(copies).ConfigureAwait(false);
            // Read here: a disposed Process has no exit code (the drill once threw at its very end for that).
            return [.. processes.Select(process => process.ExitCode)];
        }
        catch (OperationCanceledException)
        {
            var cancelled = Stopwatch.GetTimestamp();
            var terminated = false;
            while (processes.Exists(process => !process.HasExited))
            {
                if (!terminated && Stopwatch.GetElapsedTime(cancelled) >= (stopGrace ?? DefaultStopGrace))
                {
                    processes.FindAll(process => !process.HasExited).ForEach(process => ProcessTree.Terminate(process.Id));
                    terminated = true;
                }

                await Task.Delay(ExitPoll, CancellationToken.None).ConfigureAwait(false);
            }

            throw;
        }
        finally
        {
            processes.ForEach(process => process.Dispose());
        }
    }

    private static async Task CopyLinesAsync(StreamReader from, TextWriter to, CancellationToken cancellationToken)
    {
        while (await from.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            lock (to)
            {
                to.WriteLine(line);
            }
        }
    }
}

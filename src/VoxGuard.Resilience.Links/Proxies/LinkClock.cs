using System.Diagnostics;
using System.Runtime.InteropServices;

namespace VoxGuard.Resilience.Links.Proxies;

/// <summary>
/// The link server's monotonic clock and its deadline timer. Waits are deadline-based, so a
/// delay applied to each chunk relative to its arrival never accumulates scheduling error.
/// </summary>
/// <remarks>
/// Measured on this kind of machine: Task.Delay fires 3.4 ms late at p50 and 7 ms at p99,
/// far too coarse for a 20 ms link. So one dedicated thread sleeps until the earliest
/// deadline — whole milliseconds on a monitor (interruptible when an earlier deadline
/// arrives), the sub-millisecond rest in nanosleep (a yield-spin there lost the core for
/// whole scheduler slices under load), with the thread's timer slack cut to 1 ns — and completes
/// due waits inline, so the chunk goes out from this thread without waiting for a thread-pool
/// thread. Hosts should also run without tiered JIT (see Directory.Build.props; the figures: docs/measured-facts.md,
/// "Link server timing").
/// </remarks>
internal sealed class LinkClock : IDisposable
{
    private static readonly TimeSpan MonitorResolution = TimeSpan.FromMilliseconds(1);
    private readonly object _gate = new();
    private readonly PriorityQueue<TaskCompletionSource, long> _due = new();
    private readonly Thread _thread;
    private bool _disposed;

    public LinkClock()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "voxguard-link-clock" };
        _thread.Start();
    }

    public static long Now => Stopwatch.GetTimestamp();

    public static long TimestampAfter(long timestamp, TimeSpan delay) =>
        timestamp + (long)(delay.TotalSeconds * Stopwatch.Frequency);

    public static TimeSpan Elapsed(long from, long to) =>
        TimeSpan.FromSeconds((to - from) / (double)Stopwatch.Frequency);

    /// <summary>Completes at the deadline, or early (never faulted) when <paramref name="cancel"/> fires.</summary>
    public Task WaitUntilAsync(long deadline, CancellationToken cancel)
    {
        if (deadline <= Now || cancel.IsCancellationRequested)
        {
            return Task.CompletedTask;
        }

        // Continuations run inline on the clock thread (see remarks).
        var done = new TaskCompletionSource();
        lock (_gate)
        {
            if (_disposed)
            {
                return Task.CompletedTask;
            }

            _due.Enqueue(done, deadline);
            if (_due.TryPeek(out _, out var earliest) && earliest == deadline)
            {
                Monitor.Pulse(_gate);
            }
        }

        if (cancel.CanBeCanceled)
        {
            // Cancellation comes from API calls holding a proxy's lock: finish the wait elsewhere, never inline there.
            var registration = cancel.Register(
                static state => ThreadPool.UnsafeQueueUserWorkItem(static waiter => waiter.TrySetResult(), (TaskCompletionSource)state!, preferLocal: false),
                done);
            _ = done.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return done.Task;
    }

    public Task DelayAsync(TimeSpan delay, CancellationToken cancel) =>
        WaitUntilAsync(TimestampAfter(Now, delay), cancel);

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.Pulse(_gate);
        }

        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    private void Run()
    {
        if (OperatingSystem.IsLinux())
        {
            // The kernel may let a sleep overrun by its timer slack (50 µs by default); this thread wants none.
            _ = SetTimerSlack(PrSetTimerSlack, 1, 0, 0, 0);
        }

        var fired = new List<TaskCompletionSource>();
        while (true)
        {
            TimeSpan shortRest = TimeSpan.Zero;
            lock (_gate)
            {
                if (_disposed)
                {
                    fired.AddRange(_due.UnorderedItems.Select(item => item.Element));
                    _due.Clear();
                    CompleteAll(fired);
                    return;
                }

                var now = Now;
                while (_due.TryPeek(out var waiter, out var deadline) && deadline <= now)
                {
                    _due.Dequeue();
                    fired.Add(waiter);
                }

                if (fired.Count == 0)
                {
                    if (!_due.TryPeek(out _, out var next))
                    {
                        Monitor.Wait(_gate);
                        continue;
                    }

                    var untilNext = Elapsed(now, next);
                    if (untilNext >= MonitorResolution)
                    {
                        Monitor.Wait(_gate, (int)untilNext.TotalMilliseconds);
                        continue;
                    }

                    shortRest = untilNext;
                }
            }

            CompleteAll(fired);
            if (shortRest > TimeSpan.Zero)
            {
                SleepPrecisely(shortRest);
            }
        }
    }

    private static void CompleteAll(List<TaskCompletionSource> fired)
    {
        foreach (var waiter in fired)
        {
            waiter.TrySetResult();
        }

        fired.Clear();
    }

    private static void SleepPrecisely(TimeSpan duration)
    {
        var request = new Timespec { Seconds = 0, Nanoseconds = duration.Ticks * 100 };
        _ = NativeSleep(in request, IntPtr.Zero);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private const int PrSetTimerSlack = 29;

    [DllImport("libc", EntryPoint = "prctl")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SetTimerSlack(int option, nuint nanoseconds, nuint unused3, nuint unused4, nuint unused5);

    [DllImport("libc", EntryPoint = "nanosleep")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int NativeSleep(in Timespec request, IntPtr remaining);
}

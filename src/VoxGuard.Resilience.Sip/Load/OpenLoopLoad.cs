using System.Diagnostics;
using System.Net;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Sip.UserAgents;

namespace VoxGuard.Resilience.Sip.Load;

/// <summary>Where a running load stands (reported about once a second).</summary>
/// <param name="Elapsed">Time since the first call was due.</param>
/// <param name="Started">Calls started.</param>
/// <param name="Completed">Calls finished (any outcome).</param>
/// <param name="Succeeded">Calls completed successfully.</param>
/// <param name="InFlight">Calls started and not finished.</param>
/// <param name="Planned">Calls the schedule will start in all.</param>
public sealed record LoadProgress(TimeSpan Elapsed, long Started, long Completed, long Succeeded, long InFlight, long Planned);

/// <summary>
/// The open-loop load generator: starts every call of a <see cref="LoadProfile"/> when it is due, without waiting for
/// earlier ones, from a pool of user agents each bound to one source address, and records every call.
/// </summary>
public static class OpenLoopLoad
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(1);

    /// <summary>Runs the load to its end (or until cancelled: no new calls, the started ones finish) and returns every call.</summary>
    /// <exception cref="ArgumentException">An invalid profile (every problem in one message); nothing was sent.</exception>
    public static async Task<LoadResult> RunAsync(LoadProfile profile, Action<LoadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (profile.Problems() is { } problems)
        {
            throw new ArgumentException(problems, nameof(profile));
        }

        var sources = profile.Sources();
        var agents = new List<SipUserAgentClient>(sources.Count);
        try
        {
            foreach (var source in sources)
            {
                agents.Add(new SipUserAgentClient(new SipUacOptions { UdpEndPoint = new IPEndPoint(source, 0) }));
            }

            var planned = profile.PlannedCalls;
            var calls = new List<Task<CallRecord>>((int)Math.Min(planned, 1_000_000));
            var completed = 0L;
            var succeeded = 0L;
            var costAtStart = GeneratorCost.Now();
            var started = Stopwatch.GetTimestamp();
            var nextProgress = ProgressInterval;
            var next = 0L;
            while (next < planned && !cancellationToken.IsCancellationRequested)
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                for (; next < planned && profile.DueTime(next) <= elapsed; next++)
                {
                    var index = (int)(next % agents.Count);
                    var call = agents[index].CallAsync(profile.Target, new CallOptions
                    {
                        Transport = profile.Transport,
                        // TCP binds the source per connection; UDP uses the agent's socket, already bound to it.
                        LocalAddress = profile.Transport == SipTransportKind.Tcp ? sources[index] : null,
                        HoldTime = profile.HoldTime,
                        AnswerTimeout = profile.AnswerTimeout,
                    }, CancellationToken.None);
                    _ = call.ContinueWith(
                        finished =>
                        {
                            Interlocked.Increment(ref completed);
                            if (finished.IsCompletedSuccessfully && finished.Result.Succeeded)
                            {
                                Interlocked.Increment(ref succeeded);
                            }
                        },
                        CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    calls.Add(call);
                }

                if (elapsed >= nextProgress)
                {
                    progress?.Invoke(Snapshot(elapsed, next, completed, succeeded, planned));
                    nextProgress += ProgressInterval;
                }

                // Timers are coarse (a few ms late): whatever fell due meanwhile starts in the next batch, so the
                // average rate holds at any CPS.
                var wait = next < planned ? profile.DueTime(next) - Stopwatch.GetElapsedTime(started) : TimeSpan.Zero;
                await Task.Delay(wait > TimeSpan.FromMilliseconds(1) ? wait : TimeSpan.FromMilliseconds(1), CancellationToken.None).ConfigureAwait(false);
            }

            var schedulingEnded = Stopwatch.GetElapsedTime(started);
            while (calls.Any(call => !call.IsCompleted))
            {
                await Task.WhenAny(Task.WhenAll(calls), Task.Delay(ProgressInterval, CancellationToken.None)).ConfigureAwait(false);
                progress?.Invoke(Snapshot(Stopwatch.GetElapsedTime(started), next, Interlocked.Read(ref completed), Interlocked.Read(ref succeeded), planned));
            }

            var records = calls.Select(call => call.Result).ToList();
            var elapsedToEnd = Stopwatch.GetElapsedTime(started);
            return new LoadResult(profile, records, started, schedulingEnded, elapsedToEnd, cancellationToken.IsCancellationRequested)
            {
                Cost = GeneratorCost.Since(costAtStart, elapsedToEnd),
            };
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static LoadProgress Snapshot(TimeSpan elapsed, long started, long completed, long succeeded, long planned) =>
        new(elapsed, started, completed, succeeded, started - completed, planned);
}

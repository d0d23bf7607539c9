using System.Diagnostics;
using HdrHistogram;
using VoxGuard.Resilience.Sip.UserAgents;

namespace VoxGuard.Resilience.Sip.Load;

/// <summary>Calls of one region in a <see cref="LoadSummary"/>.</summary>
/// <param name="Region">The region (from the region header), or "(none)" for answers without one.</param>
/// <param name="Answered">Answered calls it served.</param>
/// <param name="Percent">Its share of all answered calls.</param>
/// <param name="Setup">INVITE → 200 of its answered calls.</param>
/// <param name="FirstResponse">
/// INVITE → first provisional of its answered calls, or null when none rang: the path to the region's engine and
/// back without the engine's writes, so a slow setup with a fast first response is the writes (or the answer's way
/// back), and a slow first response is the path (balancer, proxy, the engine reading its socket).
/// </param>
public sealed record RegionShare(string Region, long Answered, double Percent, LatencyPercentiles Setup, LatencyPercentiles? FirstResponse);

/// <summary>Percentiles of a set of latencies (HdrHistogram, microsecond resolution).</summary>
public sealed record LatencyPercentiles(TimeSpan P50, TimeSpan P99, TimeSpan Max)
{
    /// <summary>The percentiles of <paramref name="latencies"/>, or null when there are none.</summary>
    public static LatencyPercentiles? Of(IEnumerable<TimeSpan> latencies)
    {
        ArgumentNullException.ThrowIfNull(latencies);
        var histogram = new LongHistogram(TimeSpan.FromMinutes(5).Ticks / 10, 3); // microseconds
        foreach (var latency in latencies)
        {
            histogram.RecordValue(Math.Clamp(latency.Ticks / 10, 1, histogram.HighestTrackableValue));
        }

        return histogram.TotalCount == 0
            ? null
            : new(FromMicroseconds(histogram.GetValueAtPercentile(50)), FromMicroseconds(histogram.GetValueAtPercentile(99)), FromMicroseconds(histogram.GetMaxValue()));
    }

    private static TimeSpan FromMicroseconds(long microseconds) => TimeSpan.FromTicks(microseconds * 10);
}

/// <summary>The figures of a load run.</summary>
/// <param name="Calls">Calls started.</param>
/// <param name="Succeeded">Calls completed (answered, held, hung up).</param>
/// <param name="SuccessPercent">Succeeded / calls.</param>
/// <param name="AchievedCallsPerSecond">Calls started / time spent starting them.</param>
/// <param name="Regions">Answered calls per region, largest first.</param>
/// <param name="SetupP50">Median INVITE → 200 time of answered calls.</param>
/// <param name="SetupP99">99th percentile INVITE → 200.</param>
/// <param name="SetupMax">Slowest INVITE → 200.</param>
/// <param name="Failures">Failed calls by outcome and status ("Rejected 500", "Timeout", …).</param>
/// <param name="CommonestReasons">For each failure kind, its most frequent reason and how many calls gave it.</param>
public sealed record LoadSummary(long Calls, long Succeeded, double SuccessPercent, double AchievedCallsPerSecond, IReadOnlyList<RegionShare> Regions,
    TimeSpan? SetupP50, TimeSpan? SetupP99, TimeSpan? SetupMax, IReadOnlyDictionary<string, long> Failures,
    IReadOnlyDictionary<string, (string Reason, long Calls)> CommonestReasons)
{
    /// <summary>
    /// Answered calls' start → INVITE handed to the transport: the TCP connect through the balancer (microseconds on
    /// loopback while it accepts) and the generator's own lateness. Part of every setup time.
    /// </summary>
    public LatencyPercentiles? InviteSendDelay { get; init; }

    /// <summary>Answered calls' 2xx read → the call resuming on it: the generator's own delay. Part of every setup time.</summary>
    public LatencyPercentiles? AnswerResumeDelay { get; init; }

    /// <summary>
    /// Every call's start after its due time in the open-loop schedule: how far the generator fell behind its own plan.
    /// Not part of the setup times (a call's clock starts when it starts), so a large figure means the load offered was
    /// burstier than planned and the calls it delayed were measured from their late start.
    /// </summary>
    public LatencyPercentiles? StartLateness { get; init; }
}

/// <summary>
/// What the generating process itself spent during a run: its CPU (all threads) and the time its garbage collector
/// held it paused. Setup times are timestamped by this process, so an answer arriving during a pause is stamped late
/// by up to the pause: a large share paused means some of the measured latency is the generator's own.
/// </summary>
/// <param name="Cpu">User + system CPU of the process over the run.</param>
/// <param name="GcPause">Total GC pause over the run.</param>
/// <param name="Collections">Garbage collections (any generation) over the run.</param>
/// <param name="Elapsed">The run's wall time, for the shares.</param>
public sealed record GeneratorCost(TimeSpan Cpu, TimeSpan GcPause, int Collections, TimeSpan Elapsed)
{
    /// <summary>CPU as a share of one core over the run, in percent.</summary>
    public double CpuPercentOfCore => Elapsed > TimeSpan.Zero ? 100 * Cpu / Elapsed : 0;

    /// <summary>Wall time spent paused, in percent.</summary>
    public double PausedPercent => Elapsed > TimeSpan.Zero ? 100 * GcPause / Elapsed : 0;

    /// <summary>The process's counters now; <see cref="Since"/> turns two readings into a run's cost.</summary>
    internal static (TimeSpan Cpu, TimeSpan Pause, int Collections) Now()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return (self.TotalProcessorTime, GC.GetTotalPauseDuration(), GC.CollectionCount(0));
    }

    internal static GeneratorCost Since((TimeSpan Cpu, TimeSpan Pause, int Collections) start, TimeSpan elapsed)
    {
        var end = Now();
        return new(end.Cpu - start.Cpu, end.Pause - start.Pause, end.Collections - start.Collections, elapsed);
    }
}

/// <summary>Every call of a load run, on the Stopwatch clock, with its summary.</summary>
/// <param name="Profile">What was run.</param>
/// <param name="Calls">Every call record, in start order.</param>
/// <param name="StartedAt">The Stopwatch timestamp the schedule counts from.</param>
/// <param name="SchedulingTime">How long calls kept starting.</param>
/// <param name="Elapsed">Until the last call ended.</param>
/// <param name="Cancelled">Stopped early: fewer calls than planned.</param>
public sealed record LoadResult(LoadProfile Profile, IReadOnlyList<CallRecord> Calls, long StartedAt, TimeSpan SchedulingTime, TimeSpan Elapsed, bool Cancelled)
{
    /// <summary>What the process running the load spent meanwhile (everything in it: the load, and whatever else it hosts).</summary>
    public GeneratorCost? Cost { get; init; }

    /// <summary>The figures: success, per-region shares, setup-time percentiles (HdrHistogram, microsecond resolution).</summary>
    public LoadSummary Summarise()
    {
        static LatencyPercentiles? Spread(IEnumerable<CallRecord> calls, Func<CallRecord, TimeSpan?> latency) =>
            LatencyPercentiles.Of(calls.Select(latency).Where(value => value is not null).Select(value => value!.Value));
        var answered = Calls.Where(call => call.Succeeded).ToList();
        var succeeded = answered.Count;
        var setup = Spread(answered, call => call.TimeToAnswer);
        var regions = answered.GroupBy(call => call.Region ?? "(none)")
            .Select(group => new RegionShare(group.Key, group.Count(), 100.0 * group.Count() / succeeded,
                Spread(group, call => call.TimeToAnswer)!, Spread(group, call => call.TimeToFirstProvisional)))
            .OrderByDescending(share => share.Answered).ToList();
        var failed = Calls.Where(call => !call.Succeeded)
            .GroupBy(call => call.StatusCode is { } code ? $"{call.Outcome} {code}" : call.Outcome.ToString())
            .ToList();
        var failures = failed.ToDictionary(group => group.Key, group => (long)group.Count(), StringComparer.Ordinal);
        var reasons = failed.ToDictionary(
            group => group.Key,
            group => group.GroupBy(call => call.FailureReason ?? "(no reason given)").OrderByDescending(reason => reason.Count()).Select(reason => (reason.Key, (long)reason.Count())).First(),
            StringComparer.Ordinal);
        return new LoadSummary(
            Calls.Count,
            succeeded,
            Calls.Count == 0 ? 0 : 100.0 * succeeded / Calls.Count,
            SchedulingTime > TimeSpan.Zero ? Calls.Count / SchedulingTime.TotalSeconds : 0,
            regions,
            setup?.P50,
            setup?.P99,
            setup?.Max,
            failures,
            reasons)
        {
            InviteSendDelay = Spread(answered, call => call.TimeToInviteSent),
            AnswerResumeDelay = Spread(answered, call => call.AnswerResumeDelay),
            // Calls are listed in the order they were scheduled: call i was due at the profile's DueTime(i).
            StartLateness = LatencyPercentiles.Of(Calls.Select((call, index) => StartOf(call) - Profile.DueTime(index))),
        };
    }

    /// <summary>A call's start as an offset from the run's start.</summary>
    public TimeSpan StartOf(CallRecord call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return TimeSpan.FromSeconds((double)(call.StartedAt - StartedAt) / Stopwatch.Frequency);
    }
}

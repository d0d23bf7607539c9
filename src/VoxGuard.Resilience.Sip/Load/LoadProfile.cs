using System.Globalization;
using System.Net;
using VoxGuard.Resilience.Sip.Transports;

namespace VoxGuard.Resilience.Sip.Load;

/// <summary>
/// An open-loop SIP load: calls start on schedule at <see cref="CallsPerSecond"/> (after a linear ramp from 0 over
/// <see cref="Ramp"/>) for <see cref="Duration"/>, whether or not earlier calls finished — an outage shows as failed
/// calls, not as a slower client. Calls come from <see cref="SourceCount"/> consecutive addresses from
/// <see cref="FirstSource"/>, so a balancer hashing the source address sees many clients.
/// </summary>
public sealed record LoadProfile
{
    /// <summary>The hard limits: loads are bounded in rate, time and count.</summary>
    public const double MaxCallsPerSecond = 5000;

    /// <summary>The longest run.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(2);

    /// <summary>Where calls go (the balancer, or one proxy): loopback only.</summary>
    public required IPEndPoint Target { get; init; }

    /// <summary>The steady rate.</summary>
    public double CallsPerSecond { get; init; } = 50;

    /// <summary>How long calls keep starting (ramp included).</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Linear ramp from 0 to the steady rate at the start (0 = full rate at once).</summary>
    public TimeSpan Ramp { get; init; } = TimeSpan.Zero;

    /// <summary>How long an answered call is held before the BYE.</summary>
    public TimeSpan HoldTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>UDP or TCP (one connection per call).</summary>
    public SipTransportKind Transport { get; init; } = SipTransportKind.Tcp;

    /// <summary>The first source address of the pool.</summary>
    public IPAddress FirstSource { get; init; } = IPAddress.Parse("127.0.100.1");

    /// <summary>How many consecutive source addresses calls are spread over (round robin).</summary>
    public int SourceCount { get; init; } = 50;

    /// <summary>How long a call may wait for its answer after a provisional response.</summary>
    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How many calls will start: the integral of the rate over the run.</summary>
    public long PlannedCalls => (long)Math.Floor(CallsStartedBy(Duration));

    /// <summary>The source addresses, in order.</summary>
    public IReadOnlyList<IPAddress> Sources()
    {
        var first = FirstSource.GetAddressBytes();
        var value = ((uint)first[0] << 24) | ((uint)first[1] << 16) | ((uint)first[2] << 8) | first[3];
        return [.. Enumerable.Range(0, SourceCount).Select(offset =>
        {
            var next = value + (uint)offset;
            return new IPAddress(new[] { (byte)(next >> 24), (byte)(next >> 16), (byte)(next >> 8), (byte)next });
        })];
    }

    /// <summary>How many calls the schedule has started by <paramref name="elapsed"/> (fractional).</summary>
    public double CallsStartedBy(TimeSpan elapsed)
    {
        var t = Math.Clamp(elapsed.TotalSeconds, 0, Duration.TotalSeconds);
        var ramp = Math.Min(Ramp.TotalSeconds, Duration.TotalSeconds);
        if (t <= ramp)
        {
            return ramp == 0 ? CallsPerSecond * t : CallsPerSecond * t * t / (2 * ramp);
        }

        return (CallsPerSecond * ramp / 2) + (CallsPerSecond * (t - ramp));
    }

    /// <summary>When call number <paramref name="index"/> (0-based) is due, inverting <see cref="CallsStartedBy"/>.</summary>
    public TimeSpan DueTime(long index)
    {
        var n = index + 1.0;
        var ramp = Math.Min(Ramp.TotalSeconds, Duration.TotalSeconds);
        var rampCalls = CallsPerSecond * ramp / 2;
        var seconds = n <= rampCalls && ramp > 0
            ? Math.Sqrt(2 * ramp * n / CallsPerSecond)
            : ramp + ((n - rampCalls) / CallsPerSecond);
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Every problem with the profile in one message, or null.</summary>
    public string? Problems()
    {
        var problems = new List<string>();
        if (!SipLoopback.Admits(Target.Address))
        {
            problems.Add($"target {Target} is outside 127.0.0.0/8 (the harness only sends to loopback)");
        }

        if (!(CallsPerSecond > 0 && CallsPerSecond <= MaxCallsPerSecond))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"rate {CallsPerSecond} CPS must be above 0 and at most {MaxCallsPerSecond}"));
        }

        if (Duration <= TimeSpan.Zero || Duration > MaxDuration)
        {
            problems.Add($"duration {Duration} must be above 0 and at most {MaxDuration.TotalHours} h");
        }

        if (Ramp < TimeSpan.Zero || Ramp > Duration)
        {
            problems.Add($"ramp {Ramp} must be between 0 and the duration");
        }

        if (HoldTime < TimeSpan.Zero || HoldTime > TimeSpan.FromMinutes(10))
        {
            problems.Add($"hold time {HoldTime} must be between 0 and 10 min");
        }

        if (SourceCount is < 1 or > 1000)
        {
            problems.Add($"source count {SourceCount} must be between 1 and 1000");
        }
        else if (!Sources().All(SipLoopback.Admits))
        {
            problems.Add($"source addresses from {FirstSource} ({SourceCount}) leave 127.0.0.0/8");
        }

        return problems.Count == 0 ? null : "Invalid load: " + string.Join("; ", problems) + ".";
    }
}

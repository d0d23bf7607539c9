namespace VoxGuard.Resilience.Measurement.Tests;

/// <summary>Builds call timelines: a steady rate, with failures where a test says.</summary>
internal static class SyntheticTimeline
{
    /// <summary>Calls every 1/<paramref name="cps"/> s for <paramref name="duration"/>; <paramref name="fails"/> decides each call's fate.</summary>
    public static List<CallObservation> Calls(double cps, TimeSpan duration, Func<TimeSpan, bool> fails, Func<TimeSpan, string>? region = null)
    {
        var calls = new List<CallObservation>();
        var interval = TimeSpan.FromSeconds(1 / cps);
        for (var start = TimeSpan.Zero; start < duration; start += interval)
        {
            var failed = fails(start);
            calls.Add(new CallObservation(start, start + TimeSpan.FromSeconds(2), !failed, failed ? null : region?.Invoke(start) ?? "lagos"));
        }

        return calls;
    }

    public static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);
}

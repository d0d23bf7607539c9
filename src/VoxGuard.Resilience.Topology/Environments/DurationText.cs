using System.Globalization;
using System.Text.RegularExpressions;

namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>
/// Durations as the environment files write them: a number and a unit, nothing else (<c>500ms</c>, <c>10s</c>,
/// <c>30min</c>, <c>1h</c>, <c>1.5s</c>). A bare number is refused: "10" could mean seconds or milliseconds.
/// </summary>
public static partial class DurationText
{
    /// <summary>The units accepted, for messages.</summary>
    public const string Units = "ms, s, min, h";

    /// <summary>Reads a duration; false for anything that is not exactly a number followed by a unit.</summary>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (text is null)
        {
            return false;
        }

        var match = Pattern().Match(text);
        if (!match.Success
            || !decimal.TryParse(match.Groups["number"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        decimal ticksPerUnit = match.Groups["unit"].Value switch
        {
            "ms" => TimeSpan.TicksPerMillisecond,
            "s" => TimeSpan.TicksPerSecond,
            "min" => TimeSpan.TicksPerMinute,
            _ => TimeSpan.TicksPerHour,
        };
        var ticks = number * ticksPerUnit;
        if (ticks > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        var whole = (long)decimal.Truncate(ticks);
        duration = TimeSpan.FromTicks(match.Groups["sign"].Success && match.Groups["sign"].Length > 0 ? -whole : whole);
        return true;
    }

    /// <summary>Reads a duration or throws <see cref="FormatException"/> naming the accepted form.</summary>
    public static TimeSpan Parse(string text) =>
        TryParse(text, out var duration)
            ? duration
            : throw new FormatException($"'{text}' is not a duration; write a number and a unit ({Units}), e.g. 500ms or 10s.");

    /// <summary>Writes a duration in the largest unit that holds it exactly: 50s, 500ms, 30min, 1.5ms.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration == TimeSpan.Zero)
        {
            return "0s";
        }

        var sign = duration < TimeSpan.Zero ? "-" : string.Empty;
        var ticks = Math.Abs((decimal)duration.Ticks);
        foreach (var (unit, perUnit) in new (string, long)[]
                 {
                     ("h", TimeSpan.TicksPerHour), ("min", TimeSpan.TicksPerMinute),
                     ("s", TimeSpan.TicksPerSecond), ("ms", TimeSpan.TicksPerMillisecond),
                 })
        {
            if (ticks % perUnit == 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{sign}{ticks / perUnit}{unit}");
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{sign}{ticks / TimeSpan.TicksPerMillisecond}ms");
    }

    /// <summary>A duration for people, in seconds with up to three decimals: "50 s", "1.5 s", "0.5 s".</summary>
    public static string InSeconds(TimeSpan duration) => duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    [GeneratedRegex(@"^(?<sign>-?)(?<number>[0-9]+(\.[0-9]+)?)(?<unit>ms|s|min|h)$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

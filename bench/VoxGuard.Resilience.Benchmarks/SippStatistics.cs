using System.Globalization;

namespace VoxGuard.Resilience.Benchmarks;

/// <summary>What a SIPp run wrote: its statistics file (<c>-trace_stat -stf</c>) and its response times (<c>-trace_rtt</c>).</summary>
internal static class SippStatistics
{
    /// <summary>The counters of the statistics file's last line, by column name (empty when there is none).</summary>
    public static Dictionary<string, long> Last(string path)
    {
        var lines = File.Exists(path) ? File.ReadAllLines(path).Where(line => line.Length > 0).ToList() : [];
        if (lines.Count < 2)
        {
            return [];
        }

        var names = lines[0].Split(';');
        var values = lines[^1].Split(';');
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < Math.Min(names.Length, values.Length); i++)
        {
            if (long.TryParse(values[i], CultureInfo.InvariantCulture, out var value))
            {
                counters[names[i]] = value;
            }
        }

        return counters;
    }

    /// <summary>
    /// Every response time (ms) in the <c>*_rtt.csv</c> files of <paramref name="directory"/> (SIPp's working directory):
    /// with <c>-rtt_freq 1</c> one line per call, from the INVITE sent to the response marked <c>rtd</c> received.
    /// </summary>
    public static List<double> ResponseTimes(string directory) => [.. Timings(directory).Select(timing => timing.ResponseMilliseconds)];

    /// <summary>
    /// The rate at which SIPp started the calls it timed: their INVITEs' span (each line's date less its response time),
    /// so that neither SIPp's own start nor the last calls' setup counts as if the calls had been started late — as our
    /// generator's rate is its calls over the time it spent starting them. Null with fewer than two timed calls.
    /// </summary>
    public static double? StartingRate(string directory)
    {
        var starts = Timings(directory).Select(timing => timing.DateMilliseconds - timing.ResponseMilliseconds).Order().ToList();
        return starts.Count < 2 || starts[^1] <= starts[0] ? null : (starts.Count - 1) * 1000.0 / (starts[^1] - starts[0]);
    }

    /// <summary>The lines of the <c>*_rtt.csv</c> files: <c>Date_ms;response_time;rtd_no</c>, the date when the response came.</summary>
    private static List<(double DateMilliseconds, double ResponseMilliseconds)> Timings(string directory)
    {
        var timings = new List<(double, double)>();
        foreach (var file in Directory.EnumerateFiles(directory, "*_rtt.csv"))
        {
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var fields = line.Split(';');
                if (fields.Length >= 2
                    && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var date)
                    && double.TryParse(fields[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds))
                {
                    timings.Add((date, milliseconds));
                }
            }
        }

        return timings;
    }
}

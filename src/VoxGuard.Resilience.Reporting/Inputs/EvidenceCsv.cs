using System.Globalization;

namespace VoxGuard.Resilience.Reporting.Inputs;

/// <summary>One call of the raw call timeline (<c>&lt;scenario&gt;-calls.csv</c>), in seconds from the scenario's start.</summary>
/// <param name="Start">When the call was placed.</param>
/// <param name="End">When it ended.</param>
/// <param name="Succeeded">Whether it was answered.</param>
/// <param name="Region">The region that answered (empty when none did).</param>
public sealed record CallRow(double Start, double End, bool Succeeded, string Region);

/// <summary>One replication-lag sample (<c>&lt;scenario&gt;-lag.csv</c>), in seconds from the scenario's start.</summary>
/// <param name="At">When it was taken.</param>
/// <param name="Replica">The replica, e.g. abuja/postgres.</param>
/// <param name="LagMilliseconds">The lag.</param>
public sealed record LagRow(double At, string Replica, double LagMilliseconds);

/// <summary>Reads the CSV evidence the scenarios write (header line first, invariant culture, no quoting).</summary>
public static class EvidenceCsv
{
    /// <summary>Reads <c>start_s,end_s,succeeded,region</c>.</summary>
    public static IReadOnlyList<CallRow> ReadCalls(string path) => Read(path, "start_s,end_s,succeeded,region", fields =>
        new CallRow(Number(fields[0]), Number(fields[1]), bool.Parse(fields[2]), fields.Length > 3 ? fields[3] : string.Empty));

    /// <summary>Reads <c>at_s,replica,lag_ms</c>.</summary>
    public static IReadOnlyList<LagRow> ReadLag(string path) => Read(path, "at_s,replica,lag_ms", fields =>
        new LagRow(Number(fields[0]), fields[1], Number(fields[2])));

    private static List<T> Read<T>(string path, string header, Func<string[], T> parse)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || !string.Equals(lines[0].Trim(), header, StringComparison.Ordinal))
        {
            throw new ReportException($"{path} does not start with the header '{header}'; it was not written by this harness's scenarios.");
        }

        var rows = new List<T>(lines.Length - 1);
        for (var i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }

            try
            {
                rows.Add(parse(lines[i].Split(',')));
            }
            catch (Exception exception) when (exception is FormatException or IndexOutOfRangeException)
            {
                throw new ReportException($"{path} line {i + 1} ('{lines[i]}') does not match '{header}'.", exception);
            }
        }

        return rows;
    }

    private static double Number(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
}

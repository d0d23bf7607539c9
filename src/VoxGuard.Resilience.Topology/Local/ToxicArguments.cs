using System.Globalization;
using System.Text.RegularExpressions;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Links.Toxics;

namespace VoxGuard.Resilience.Topology.Local;

/// <summary>
/// A toxic as an operator types it (<c>--toxic latency --latency 200ms --jitter 50ms</c>): the kind, its attributes as
/// text, the stream and the toxicity. <see cref="ToSpecs"/> checks it against what the kind takes and returns the
/// toxics to add (two with <c>--stream both</c>).
/// </summary>
/// <remarks>
/// Durations take a unit (<c>us</c>, <c>ms</c>, <c>s</c>, <c>m</c>; a bare number is milliseconds, Toxiproxy's unit);
/// rate is KB/s (1 KB = 1000 B) and sizes are bytes, both whole numbers.
/// </remarks>
public sealed partial record ToxicArguments(string Kind)
{
    /// <summary>The kinds <see cref="ToSpecs"/> accepts (every toxic of the link server but noop).</summary>
    public static IReadOnlyList<string> Kinds { get; } =
        [ToxicTypes.Latency, ToxicTypes.Bandwidth, ToxicTypes.Timeout, ToxicTypes.SlowClose, ToxicTypes.ResetPeer, ToxicTypes.LimitData, ToxicTypes.Slicer];

    /// <summary>latency: the added delay (required).</summary>
    public string? Latency { get; init; }

    /// <summary>latency: ± this much, drawn per chunk.</summary>
    public string? Jitter { get; init; }

    /// <summary>bandwidth: KB/s (required).</summary>
    public string? Rate { get; init; }

    /// <summary>timeout: close after this long (required; 0 = never); reset_peer: reset this long after the first data.</summary>
    public string? Timeout { get; init; }

    /// <summary>slow_close: how long the close is held (required); slicer: the delay between slices.</summary>
    public string? Delay { get; init; }

    /// <summary>limit_data: close after this many bytes (required).</summary>
    public string? Bytes { get; init; }

    /// <summary>slicer: the average slice in bytes (required).</summary>
    public string? AverageSize { get; init; }

    /// <summary>slicer: ± this many bytes per slice.</summary>
    public string? SizeVariation { get; init; }

    /// <summary>upstream (client → server), downstream (server → client, the default) or both.</summary>
    public string Stream { get; init; } = ToxicStreams.Downstream;

    /// <summary>The chance (0–1) that a connection is affected; default 1.</summary>
    public string? Toxicity { get; init; }

    /// <summary>The toxics to add; throws one <see cref="ArgumentException"/> naming every problem.</summary>
    public IReadOnlyList<ToxicSpec> ToSpecs()
    {
        var problems = new List<string>();
        var given = new (string Option, string? Value)[]
        {
            ("--latency", Latency), ("--jitter", Jitter), ("--rate", Rate), ("--timeout", Timeout), ("--delay", Delay),
            ("--bytes", Bytes), ("--average-size", AverageSize), ("--size-variation", SizeVariation),
        }.Where(each => each.Value is not null).ToList();

        ToxicSpec? spec = Kind switch
        {
            ToxicTypes.Latency => ToxicSpec.Latency(Duration("--latency", Latency, problems, required: true), Duration("--jitter", Jitter, problems)),
            ToxicTypes.Bandwidth => ToxicSpec.Bandwidth(Count("--rate", Rate, problems, required: true)),
            ToxicTypes.Timeout => ToxicSpec.Timeout(Duration("--timeout", Timeout, problems, required: true)),
            ToxicTypes.SlowClose => ToxicSpec.SlowClose(Duration("--delay", Delay, problems, required: true)),
            ToxicTypes.ResetPeer => ToxicSpec.ResetPeer(Duration("--timeout", Timeout, problems)),
            ToxicTypes.LimitData => ToxicSpec.LimitData(Count("--bytes", Bytes, problems, required: true)),
            ToxicTypes.Slicer => ToxicSpec.Slicer(Count("--average-size", AverageSize, problems, required: true), Count("--size-variation", SizeVariation, problems),
                Duration("--delay", Delay, problems)),
            _ => null,
        };
        if (spec is null)
        {
            problems.Add($"unknown toxic '{Kind}' (known: {string.Join(", ", Kinds)})");
        }
        else
        {
            var takes = OptionsOf(Kind);
            problems.AddRange(given.Where(each => !takes.Contains(each.Option)).Select(each => $"{each.Option} does not apply to {Kind} (it takes {string.Join(", ", takes)})"));
        }

        var toxicity = 1.0;
        if (Toxicity is not null && (!double.TryParse(Toxicity, NumberStyles.Float, CultureInfo.InvariantCulture, out toxicity) || toxicity is < 0 or > 1))
        {
            problems.Add($"--toxicity '{Toxicity}' must be a number from 0 to 1");
        }

        string[] streams = Stream switch
        {
            ToxicStreams.Upstream or ToxicStreams.Downstream => [Stream],
            "both" => [ToxicStreams.Upstream, ToxicStreams.Downstream],
            _ => [],
        };
        if (streams.Length == 0)
        {
            problems.Add($"--stream '{Stream}' must be upstream, downstream or both");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException($"Invalid {Kind} toxic: {string.Join("; ", problems)}.");
        }

        return [.. streams.Select(stream => spec! with { Stream = stream, Toxicity = toxicity })];
    }

    /// <summary>
    /// What is wrong with a toxic as it arrives over the wire (a kind this harness shapes with, attributes of that kind
    /// and not negative, a stream, a toxicity from 0 to 1); empty when nothing is.
    /// </summary>
    public static IReadOnlyList<string> ProblemsOf(ToxicSpec toxic)
    {
        ArgumentNullException.ThrowIfNull(toxic);
        if (!Kinds.Contains(toxic.Type))
        {
            return [$"unknown toxic '{toxic.Type}' (known: {string.Join(", ", Kinds)})"];
        }

        var takes = OptionsOf(toxic.Type).Select(option => option[2..].Replace('-', '_')).ToList(); // --average-size → average_size
        var problems = new List<string>();
        foreach (var (name, value) in toxic.Attributes ?? new Dictionary<string, long>())
        {
            if (!takes.Contains(name))
            {
                problems.Add($"{toxic.Type} has no attribute '{name}' (it takes {string.Join(", ", takes)})");
            }
            else if (value < 0)
            {
                problems.Add($"{toxic.Type} {name} {value} is negative");
            }
        }

        if (!ToxicStreams.IsValid(toxic.Stream))
        {
            problems.Add($"stream '{toxic.Stream}' must be upstream or downstream");
        }

        if (toxic.Toxicity is < 0 or > 1 || double.IsNaN(toxic.Toxicity))
        {
            problems.Add($"toxicity {toxic.Toxicity} must be from 0 to 1");
        }

        return problems;
    }

    /// <summary>The options a kind takes, for the help and for the errors.</summary>
    public static IReadOnlyList<string> OptionsOf(string kind) => kind switch
    {
        ToxicTypes.Latency => ["--latency", "--jitter"],
        ToxicTypes.Bandwidth => ["--rate"],
        ToxicTypes.Timeout or ToxicTypes.ResetPeer => ["--timeout"],
        ToxicTypes.SlowClose => ["--delay"],
        ToxicTypes.LimitData => ["--bytes"],
        ToxicTypes.Slicer => ["--average-size", "--size-variation", "--delay"],
        _ => [],
    };

    /// <summary>Parses 200ms, 1.5s, 500us, 2m, or a bare number of milliseconds; null when it is not one.</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var match = DurationPattern().Match(text.Trim());
        if (!match.Success || !double.TryParse(match.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            return null;
        }

        return match.Groups["unit"].Value switch
        {
            "us" or "µs" => TimeSpan.FromMicroseconds(value),
            "s" => TimeSpan.FromSeconds(value),
            "m" => TimeSpan.FromMinutes(value),
            _ => TimeSpan.FromMilliseconds(value),
        };
    }

    private static TimeSpan Duration(string option, string? text, List<string> problems, bool required = false)
    {
        if (text is null)
        {
            if (required)
            {
                problems.Add($"{option} is required");
            }

            return TimeSpan.Zero;
        }

        if (ParseDuration(text) is not { } duration || duration > TimeSpan.FromHours(1))
        {
            problems.Add($"{option} '{text}' is not a duration up to 1 h (e.g. 200ms, 1.5s; a bare number is ms)");
            return TimeSpan.Zero;
        }

        return duration;
    }

    private static long Count(string option, string? text, List<string> problems, bool required = false)
    {
        if (text is null)
        {
            if (required)
            {
                problems.Add($"{option} is required");
            }

            return 0;
        }

        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            problems.Add($"{option} '{text}' is not a whole number ≥ 0");
        }

        return count;
    }

    [GeneratedRegex(@"^(?<value>\d+(\.\d+)?)(?<unit>us|µs|ms|s|m)?$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();
}

using System.Globalization;
using ScottPlot;
using SkiaSharp;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Reporting.Compliance;
using VoxGuard.Resilience.Reporting.Inputs;

namespace VoxGuard.Resilience.Reporting.Charts;

/// <summary>Thresholds drawn on the lag panel.</summary>
/// <param name="LagTarget">The replication-lag target (the deployment guide: &lt; 100 ms).</param>
/// <param name="LagAlert">The replication-lag alert (the deployment guide: &gt; 500 ms).</param>
/// <param name="RecoveredPercent">The success ratio of a 1 s window at which service counts as back (the scenarios use 99 %).</param>
public sealed record TimelineChartOptions(double LagTarget = 100, double LagAlert = 500, double RecoveredPercent = 99)
{
    /// <summary>The documented thresholds.</summary>
    public static TimelineChartOptions Documented { get; } = new();
}

/// <summary>
/// One PNG per scenario that shows an on-call engineer the fault, the outage and the recovery on one time axis: calls
/// per second answered by each region and failed (red), the success ratio per 1 s window, replication lag per replica
/// against its target and alert lines; fault spans shaded and balancer DOWN/UP transitions marked on every panel.
/// </summary>
public static class TimelineChart
{
    /// <summary>The default image width in pixels.</summary>
    public const int Width = 1400;

    /// <summary>The default image height in pixels.</summary>
    public const int Height = 900;

    private const string FontName = "DejaVu Sans";
    private const float LeftMargin = 90;
    private const float RightMargin = 210;
    private static readonly Color FaultFill = Colors.Orange.WithAlpha(0.18);
    private static readonly Color FailedColor = new(0xD6, 0x27, 0x28);
    private static readonly Color DownColor = new(0xB0, 0x00, 0x20);
    private static readonly Color UpColor = new(0x1A, 0x7F, 0x37);
    private static readonly Color PromotionColor = new(0x4B, 0x00, 0x82);
    private static readonly string[] KnownRegions = ["lagos", "abuja", "asaba"];
    private static readonly Color[] Palette = [new(0x1F, 0x77, 0xB4), new(0x2C, 0xA0, 0x2C), new(0x94, 0x67, 0xBD), new(0x8C, 0x56, 0x4B), new(0x17, 0xBE, 0xCF), new(0x7F, 0x7F, 0x7F)];

    /// <summary>Renders the chart of <paramref name="report"/> to a PNG file.</summary>
    public static void Render(ScenarioReport report, IReadOnlyList<CallRow> calls, IReadOnlyList<LagRow> lag, string pngPath,
        TimelineChartOptions? options = null, int width = Width, int height = Height)
    {
        ArgumentNullException.ThrowIfNull(pngPath);
        File.WriteAllBytes(pngPath, RenderPng(report, calls, lag, options, width, height));
    }

    /// <summary>Renders the chart of <paramref name="report"/> as PNG bytes.</summary>
    public static byte[] RenderPng(ScenarioReport report, IReadOnlyList<CallRow> calls, IReadOnlyList<LagRow> lag,
        TimelineChartOptions? options = null, int width = Width, int height = Height)
    {
        ArgumentNullException.ThrowIfNull(report);
        options ??= TimelineChartOptions.Documented;
        var series = TimelineSeries.From(calls, lag, (report.FinishedAt - report.StartedAt).TotalSeconds);
        var regionColors = RegionColors(series, report);

        using var callsPlot = CallsPlot(report, series, regionColors);
        using var successPlot = SuccessPlot(report, series, options);
        using var lagPlot = LagPlot(report, series, options, regionColors);
        Plot[] panels = [callsPlot, successPlot, lagPlot];
        foreach (var panel in panels)
        {
            panel.Axes.SetLimitsX(0, series.Duration);
            panel.Font.Set(FontName);
        }

        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        surface.Canvas.Clear(SKColors.White);
        // Fixed side margins so the three panels share one time axis, pixel for pixel.
        float[] shares = [0.47f, 0.23f, 0.30f];
        float top = 0;
        for (var i = 0; i < panels.Length; i++)
        {
            var bottom = i == panels.Length - 1 ? height : top + (height * shares[i]);
            var panelTop = i == 0 ? 110f : 30f;
            var panelBottom = i == panels.Length - 1 ? 62f : 28f;
            panels[i].Layout.Fixed(new PixelPadding(LeftMargin, RightMargin, panelBottom, panelTop));
            // Each panel on a surface of its own: a plot clears the whole canvas it renders on.
            var panelHeight = (int)Math.Round(bottom - top);
            using (var panelSurface = SKSurface.Create(new SKImageInfo(width, panelHeight)))
            {
                panels[i].Render(panelSurface.Canvas, new PixelRect(0, width, panelHeight, 0));
                surface.Canvas.DrawSurface(panelSurface, 0, (float)Math.Round(top));
            }

            top = bottom;
        }

        // The binning matches the failover verdict's; said once, so failures just before a fault are not misread.
        using (var typeface = SKTypeface.FromFamilyName(FontName))
        using (var font = new SKFont(typeface, 12))
        using (var paint = new SKPaint { Color = SKColors.DimGray, IsAntialias = true })
        {
            surface.Canvas.DrawText("Calls count in the second they were placed, as the failover verdict counts them: calls in progress when a fault hits fail in the second(s) before it.",
                8, height - 8, SKTextAlign.Left, font, paint);
        }

        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static Plot CallsPlot(ScenarioReport report, TimelineSeries series, IReadOnlyDictionary<string, Color> regionColors)
    {
        var plot = new Plot();
        plot.Title(Title(report), size: 17);
        plot.Axes.Title.Label.Bold = true;
        plot.YLabel("calls placed per second");
        var peak = 1.0;
        // The documented regions first, in the order of their weights, so every chart's legend reads the same.
        foreach (var (region, counts) in series.AnsweredPerRegion.OrderBy(pair => Array.IndexOf(KnownRegions, pair.Key) is var known and >= 0 ? known : KnownRegions.Length)
            .ThenBy(pair => pair.Key, StringComparer.Ordinal))
        {
            var line = Steps(plot, series, counts, regionColors[region]);
            line.LineWidth = 2.5f;
            line.LegendText = $"answered by {region}";
            peak = Math.Max(peak, counts.Max());
        }

        var failed = Steps(plot, series, series.Failed, FailedColor);
        failed.LineWidth = 2.5f;
        failed.LinePattern = LinePattern.Solid;
        failed.LegendText = "failed";
        peak = Math.Max(peak, series.Failed.DefaultIfEmpty(0).Max());
        if (series.Seconds.Length <= 1 && series.Failed.All(count => count == 0) && series.AnsweredPerRegion.Count == 0)
        {
            Note(plot, "no call timeline recorded", series.Duration / 2, peak / 2);
        }

        var top = peak * 1.35;
        plot.Axes.SetLimitsY(0, top);
        MarkFaultsAndTransitions(plot, report, series, top, labelled: true);
        Legend(plot);
        return plot;
    }

    private static Plot SuccessPlot(ScenarioReport report, TimelineSeries series, TimelineChartOptions options)
    {
        var plot = new Plot();
        plot.YLabel("answered (% per 1 s)");
        var threshold = plot.Add.HorizontalLine(options.RecoveredPercent, 1.5f, Colors.Gray, LinePattern.Dashed);
        threshold.LegendText = $"{options.RecoveredPercent:0.#} % = service back";
        var points = Steps(plot, series, series.SuccessPercent, Colors.Black);
        points.LineWidth = 2;
        points.LegendText = "answered / placed";
        plot.Axes.SetLimitsY(0, 109);
        MarkFaultsAndTransitions(plot, report, series, 109, labelled: false);
        Legend(plot);
        return plot;
    }

    private static Plot LagPlot(ScenarioReport report, TimelineSeries series, TimelineChartOptions options, IReadOnlyDictionary<string, Color> regionColors)
    {
        var plot = new Plot();
        plot.XLabel("seconds since the scenario started");
        var maxLag = series.Lag.Values.SelectMany(replica => replica.Milliseconds).DefaultIfEmpty(0).Max();
        // A failover's lag runs to seconds: on a linear axis the 100/500 ms lines would sit on the floor, so use log10.
        var logarithmic = maxLag > 2 * options.LagAlert;
        double Y(double milliseconds) => logarithmic ? Math.Log10(Math.Max(milliseconds, 1)) : milliseconds;
        plot.YLabel(logarithmic ? "replication lag (ms, log scale)" : "replication lag (ms)");

        var target = plot.Add.HorizontalLine(Y(options.LagTarget), 1.5f, Colors.DimGray, LinePattern.Dashed);
        target.LegendText = $"target {options.LagTarget:0} ms";
        var alert = plot.Add.HorizontalLine(Y(options.LagAlert), 1.5f, FailedColor, LinePattern.Dashed);
        alert.LegendText = $"alert {options.LagAlert:0} ms";
        var index = 0;
        foreach (var (replica, samples) in series.Lag)
        {
            // A replica in its region's colour (abuja/postgres as abuja in the calls panel).
            var color = regionColors.TryGetValue(replica.Split('/')[0], out var regionColor) ? regionColor : Palette[(index++ + 3) % Palette.Length];
            var line = plot.Add.ScatterLine(samples.At, samples.Milliseconds.Select(Y).ToArray(), color);
            line.LineWidth = 2;
            line.MarkerSize = 3;
            line.LegendText = replica;
        }

        if (series.Lag.Count == 0)
        {
            Note(plot, "no replication-lag samples recorded", series.Duration / 2, Y(options.LagAlert) / 2);
        }

        double top;
        if (logarithmic)
        {
            top = Math.Ceiling(Math.Log10(maxLag * 1.2));
            var ticks = new ScottPlot.TickGenerators.NumericManual();
            for (var power = 0; power <= top; power++)
            {
                ticks.AddMajor(power, Milliseconds(Math.Pow(10, power)));
            }

            plot.Axes.Left.TickGenerator = ticks;
            plot.Axes.SetLimitsY(0, top);
        }
        else
        {
            top = Math.Max(options.LagAlert * 1.25, maxLag * 1.2);
            plot.Axes.SetLimitsY(0, top);
        }

        MarkFaultsAndTransitions(plot, report, series, top, labelled: false);
        MarkPromotions(plot, report, top);
        Legend(plot);
        return plot;
    }

    // A store node becoming primary after the start (a promotion, or a second primary in a split brain) on the
    // replication panel, where its effect on lag shows. The roles seen at the first poll are the starting state.
    private static void MarkPromotions(Plot plot, ScenarioReport report, double top)
    {
        var row = 0;
        foreach (var promotion in report.Transitions
            .Where(transition => transition.State == "primary" && transition.At > TimeSpan.FromSeconds(1)
                && (transition.Subject.StartsWith("postgres/", StringComparison.Ordinal) || transition.Subject.StartsWith("redis/", StringComparison.Ordinal)))
            .OrderBy(transition => transition.At))
        {
            var line = plot.Add.VerticalLine(promotion.At.TotalSeconds, 1.5f, PromotionColor);
            line.LinePattern = LinePattern.Dotted;
            var label = plot.Add.Text($"{promotion.Subject} primary", promotion.At.TotalSeconds, top * (0.97 - (0.12 * (row++ % 4))));
            label.LabelFontSize = 11;
            label.LabelFontName = FontName;
            label.LabelFontColor = PromotionColor;
            label.LabelBackgroundColor = Colors.White.WithAlpha(0.85);
            label.LabelAlignment = Alignment.UpperLeft;
            label.OffsetX = 3;
        }
    }

    private static void MarkFaultsAndTransitions(Plot plot, ScenarioReport report, TimelineSeries series, double top, bool labelled)
    {
        const double Row = 0.075;
        var faultRow = 0;
        foreach (var fault in report.Faults)
        {
            var start = fault.Start.TotalSeconds;
            var end = fault.End?.TotalSeconds ?? series.Duration;
            var span = plot.Add.HorizontalSpan(start, Math.Max(end, start + 0.05), FaultFill);
            span.LineStyle.Width = 0;
            plot.MoveToBack(span); // under the data, which must keep its colours
            var onset = plot.Add.VerticalLine(start, 2, Colors.DarkOrange);
            onset.LinePattern = LinePattern.Solid;
            if (labelled)
            {
                // Faults close together get labels on rows of their own (three rows, then round again).
                var label = plot.Add.Text($"fault: {fault.Name}{(fault.End is null ? " (never removed)" : string.Empty)}", start, top * (0.985 - (Row * (faultRow++ % 3))));
                label.LabelFontSize = 13;
                label.LabelFontName = FontName;
                label.LabelBold = true;
                label.LabelFontColor = Colors.DarkOrange.Darken(0.3);
                label.LabelBackgroundColor = Colors.White.WithAlpha(0.85);
                label.LabelAlignment = Alignment.UpperLeft;
                label.OffsetX = 4;
            }
        }

        // Balancer verdicts on each region; the first state seen per region is the starting state, not a transition.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var row = 0;
        foreach (var transition in report.Transitions.Where(transition => transition.Subject.StartsWith("balancer/", StringComparison.Ordinal)).OrderBy(transition => transition.At))
        {
            var region = transition.Subject["balancer/".Length..];
            if (seen.Add(region) && transition.At < TimeSpan.FromSeconds(1) && transition.State == "UP")
            {
                continue;
            }

            var down = !string.Equals(transition.State, "UP", StringComparison.OrdinalIgnoreCase);
            var line = plot.Add.VerticalLine(transition.At.TotalSeconds, 1.5f, down ? DownColor : UpColor);
            line.LinePattern = LinePattern.Dashed;
            if (labelled)
            {
                // Stagger labels of transitions close together so they do not overprint.
                var firstRow = 0.985 - (Row * Math.Min(faultRow, 3));
                var label = plot.Add.Text($"balancer: {region} {transition.State}", transition.At.TotalSeconds, top * (firstRow - (Row * (row++ % 4))));
                label.LabelFontSize = 12;
                label.LabelFontName = FontName;
                label.LabelFontColor = down ? DownColor : UpColor;
                label.LabelBackgroundColor = Colors.White.WithAlpha(0.85);
                label.LabelAlignment = Alignment.UpperLeft;
                label.OffsetX = 4;
            }
        }
    }

    private static void Note(Plot plot, string text, double x, double y)
    {
        var note = plot.Add.Text(text, x, y);
        note.LabelFontSize = 15;
        note.LabelFontName = FontName;
        note.LabelFontColor = Colors.Gray;
        note.LabelAlignment = Alignment.MiddleCenter;
    }

    private static void Legend(Plot plot)
    {
        plot.ShowLegend(Edge.Right);
        plot.Legend.FontSize = 12;
        plot.Legend.FontName = FontName;
    }

    private static string Title(ScenarioReport report)
    {
        var culture = CultureInfo.InvariantCulture;
        var control = report.NegativeControl;
        // Missed targets first: they are what the reader must not overlook.
        var key = report.Verdicts
            .OrderBy(verdict => verdict.Passed)
            .ThenBy(verdict => TargetKinds.SeverityRank(verdict.Kind))
            .Take(3)
            .Select(verdict => $"{Clip(verdict.Target, 48)}: {verdict.Measured} (required {verdict.Required}) {(verdict.Passed ? "met" : control ? "MISSED as designed" : "MISSED")}");
        var met = report.Verdicts.Count(verdict => verdict.Passed);
        var lines = new List<string> { string.Create(culture, $"{(control ? "NEGATIVE CONTROL (broken on purpose): " : string.Empty)}{report.Scenario} — {report.Environment}/{report.Profile} — {report.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC — {met} of {report.Verdicts.Count} targets met") };
        // Key verdicts wrapped so the title never runs off the image (about 120 characters fit a 1400 px line).
        const int LineLength = 120;
        var line = string.Empty;
        foreach (var verdict in key)
        {
            if (line.Length > 0 && line.Length + verdict.Length + 5 > LineLength)
            {
                lines.Add(line);
                line = string.Empty;
            }

            line = line.Length == 0 ? verdict : line + "  ·  " + verdict;
        }

        if (line.Length > 0)
        {
            lines.Add(line);
        }

        return string.Join('\n', lines);
    }

    private static Dictionary<string, Color> RegionColors(TimelineSeries series, ScenarioReport report)
    {
        // Fixed colours for the documented regions so every chart of every run reads the same.
        var known = new Dictionary<string, Color>(StringComparer.Ordinal) { ["lagos"] = Palette[0], ["abuja"] = Palette[1], ["asaba"] = Palette[2] };
        var others = series.AnsweredPerRegion.Keys.Concat(report.Transitions.Select(transition => transition.Subject.Split('/')[^1]))
            .Where(region => !known.ContainsKey(region)).Distinct(StringComparer.Ordinal).ToList();
        for (var i = 0; i < others.Count; i++)
        {
            known[others[i]] = Palette[3 + (i % (Palette.Length - 3))];
        }

        return known;
    }

    // Each 1 s window drawn flat across its second, so a reader sees when a count changed, not a slope between centres.
    private static ScottPlot.Plottables.Scatter Steps(Plot plot, TimelineSeries series, double[] values, Color color)
    {
        double[] xs = [.. series.Seconds, series.Seconds.Length];
        double[] ys = [.. values, values.Length == 0 ? 0 : values[^1]];
        var line = plot.Add.ScatterLine(xs, ys, color);
        line.ConnectStyle = ConnectStyle.StepHorizontal;
        return line;
    }

    private static string Milliseconds(double value) => value >= 1000
        ? (value / 1000).ToString("0.#", CultureInfo.InvariantCulture) + " s"
        : value.ToString("0", CultureInfo.InvariantCulture) + " ms";

    private static string Clip(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "…";
}

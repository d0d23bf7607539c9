using System.Buffers.Binary;
using VoxGuard.Resilience.Reporting.Charts;
using VoxGuard.Resilience.Reporting.Inputs;
using VoxGuard.Resilience.Reporting.Tests.Support;

namespace VoxGuard.Resilience.Reporting.Tests.Charts;

public sealed class TimelineChartTests
{
    [Test]
    public void A_scenario_renders_as_a_png_of_the_expected_size()
    {
        using var run = new FakeRun();
        var report = run.AddScenario("lagos-region-loss", FakeRun.Start, lost: "lagos", failoverSeconds: 42, recoversAt: 18);
        var calls = EvidenceCsv.ReadCalls(Path.Combine(run.ScenariosDirectory, "lagos-region-loss-calls.csv"));
        var lag = EvidenceCsv.ReadLag(Path.Combine(run.ScenariosDirectory, "lagos-region-loss-lag.csv"));

        var png = TimelineChart.RenderPng(report, calls, lag);

        Assert.That(png.AsSpan(0, 8).ToArray(), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "PNG signature");
        Assert.That(System.Text.Encoding.ASCII.GetString(png, 12, 4), Is.EqualTo("IHDR"));
        Assert.That((BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20))), Is.EqualTo((1400, 900)));
        Assert.That(png, Has.Length.GreaterThan(20_000), "a drawn chart, not a blank image");
    }

    [Test]
    public void A_scenario_without_calls_or_lag_still_renders()
    {
        using var run = new FakeRun();
        var report = run.AddScenario("steady-state", FakeRun.Start, lost: null, failoverSeconds: null, recoversAt: null);

        var png = TimelineChart.RenderPng(report, [], [], width: 800, height: 600);

        Assert.That((BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20))), Is.EqualTo((800, 600)));
    }

    [Test]
    public void Calls_are_counted_per_second_placed_per_answering_region_with_failures_apart()
    {
        CallRow[] calls =
        [
            new(0.1, 0.6, true, "lagos"), new(0.5, 1.0, true, "lagos"), new(0.9, 1.4, true, "abuja"),
            new(1.2, 6.2, false, string.Empty), new(1.7, 2.2, true, "asaba"),
            new(2.4, 2.9, false, string.Empty), new(2.5, 3.0, false, string.Empty), new(2.9, 3.4, false, string.Empty),
        ];
        LagRow[] lag = [new(0.5, "abuja/postgres", 12), new(0.25, "abuja/postgres", 8), new(0.3, "asaba/postgres", 9)];

        var series = TimelineSeries.From(calls, lag, scenarioSeconds: 4);

        Assert.That(series.Seconds, Is.EqualTo(new double[] { 0, 1, 2 }));
        Assert.That(series.AnsweredPerRegion["lagos"], Is.EqualTo(new double[] { 2, 0, 0 }));
        Assert.That(series.AnsweredPerRegion["abuja"], Is.EqualTo(new double[] { 1, 0, 0 }));
        Assert.That(series.AnsweredPerRegion["asaba"], Is.EqualTo(new double[] { 0, 1, 0 }));
        Assert.That(series.Failed, Is.EqualTo(new double[] { 0, 1, 3 }));
        Assert.That(series.SuccessPercent, Is.EqualTo(new double[] { 100, 50, 0 }));
        Assert.That(series.Lag["abuja/postgres"].At, Is.EqualTo(new[] { 0.25, 0.5 }), "samples in time order");
        Assert.That(series.Duration, Is.EqualTo(6.2), "the chart covers the last call's end");
    }

    [Test]
    public void A_last_second_the_load_covered_only_in_part_is_left_out_rather_than_shown_as_a_drop()
    {
        // 20 calls/s from 0 to 3.05 s: the second from 3 s holds one call and would read as traffic falling to 1/s.
        var calls = Enumerable.Range(0, 62).Select(i => new CallRow(i * 0.05, (i * 0.05) + 0.5, true, "lagos")).ToList();

        var series = TimelineSeries.From(calls, [], scenarioSeconds: 4);

        Assert.That(series.AnsweredPerRegion["lagos"], Is.EqualTo(new double[] { 20, 20, 20 }));
    }

    [Test]
    public void A_csv_that_is_not_the_scenarios_says_so()
    {
        using var temp = new TempDirectory();
        var path = Path.Combine(temp.Path, "x-calls.csv");
        File.WriteAllText(path, "time,ok\n1,2\n");

        Assert.That(() => EvidenceCsv.ReadCalls(path), Throws.TypeOf<ReportException>().With.Message.Contains("does not start with the header 'start_s,end_s,succeeded,region'"));
    }
}

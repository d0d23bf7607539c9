using static VoxGuard.Resilience.Measurement.Tests.SyntheticTimeline;

namespace VoxGuard.Resilience.Measurement.Tests;

[TestFixture]
public sealed class DistributionAndLagTests
{
    private static readonly Dictionary<string, double> Weights = new(StringComparer.Ordinal) { ["lagos"] = 70, ["abuja"] = 15, ["asaba"] = 15 };

    [Test]
    public void Shares_are_measured_per_window_and_deviation_is_relative_to_each_expected_share()
    {
        // 20 calls per second, per second: 14 lagos, 4 abuja, 2 asaba → asaba 10 % vs 15 % = 33 % off
        var calls = Calls(20, S(10), _ => false, start => ((int)Math.Round(start.TotalMilliseconds / 50) % 20) switch
        {
            < 14 => "lagos",
            < 18 => "abuja",
            _ => "asaba",
        });

        var windows = DistributionAnalysis.Windows(calls, Weights, S(0), S(10), S(5));

        Assert.Multiple(() =>
        {
            Assert.That(windows, Has.Count.EqualTo(2));
            Assert.That(windows[0].Answered, Is.EqualTo(100));
            Assert.That(windows[0].Shares["lagos"], Is.EqualTo(70).Within(0.001));
            Assert.That(windows[0].Shares["asaba"], Is.EqualTo(10).Within(0.001));
            Assert.That(windows[0].MaxRelativeDeviation, Is.EqualTo(100.0 / 3).Within(0.01));
        });
    }

    [Test]
    public void A_region_that_served_nothing_is_reported_at_zero()
    {
        var calls = Calls(10, S(4), _ => false, start => start.TotalSeconds % 1 < 0.5 ? "abuja" : "asaba");

        var window = DistributionAnalysis.Measure(calls, new Dictionary<string, double>(StringComparer.Ordinal) { ["lagos"] = 0, ["abuja"] = 50, ["asaba"] = 50 }, S(0), S(4));

        Assert.Multiple(() =>
        {
            Assert.That(window.Shares["lagos"], Is.Zero);
            Assert.That(window.Shares["abuja"], Is.EqualTo(50).Within(0.001));
            Assert.That(window.MaxRelativeDeviation, Is.Zero.Within(0.001));
        });
    }

    [Test]
    public void Failed_calls_do_not_count_towards_any_region()
    {
        var calls = Calls(10, S(2), start => start < S(1));

        var window = DistributionAnalysis.Measure(calls, Weights, S(0), S(2));

        Assert.That(window.Answered, Is.EqualTo(10));
    }

    [Test]
    public void Lag_percentiles_and_time_above_the_alert_come_from_the_samples()
    {
        var samples = Enumerable.Range(0, 100).Select(i => new LagSample(TimeSpan.FromMilliseconds(100 * i), "abuja/postgres",
            TimeSpan.FromMilliseconds(i is >= 50 and < 60 ? 800 : 20 + (i % 5)))).ToList();
        samples.Add(new LagSample(S(0), "asaba/postgres", TimeSpan.FromMilliseconds(30)));

        var summaries = LagAnalysis.Summarise(samples, alert: TimeSpan.FromMilliseconds(500));
        var abuja = summaries.Single(summary => summary.Replica == "abuja/postgres");

        Assert.Multiple(() =>
        {
            Assert.That(summaries.Select(summary => summary.Replica), Is.EqualTo(new[] { "abuja/postgres", "asaba/postgres" }));
            Assert.That(abuja.Samples, Is.EqualTo(100));
            Assert.That(abuja.P50.TotalMilliseconds, Is.EqualTo(22));
            Assert.That(abuja.P99.TotalMilliseconds, Is.EqualTo(800));
            Assert.That(abuja.Max.TotalMilliseconds, Is.EqualTo(800));
            Assert.That(abuja.TimeAboveAlert.TotalMilliseconds, Is.EqualTo(1000).Within(0.001), "10 samples 100 ms apart above 500 ms");
        });
    }

    [Test]
    public void Lag_returns_under_the_threshold_at_the_first_sample_where_every_replica_is_under_it()
    {
        var target = TimeSpan.FromMilliseconds(100);
        LagSample Sample(double at, string replica, double ms) => new(S(at), replica, TimeSpan.FromMilliseconds(ms));
        List<LagSample> draining = [Sample(9, "abuja", 900), Sample(10, "abuja", 400), Sample(10.5, "asaba", 300), Sample(11, "abuja", 40), Sample(11.5, "asaba", 120),
            Sample(12, "abuja", 30), Sample(12.5, "asaba", 35), Sample(13, "abuja", 250)];

        Assert.Multiple(() =>
        {
            Assert.That(LagAnalysis.ReturnedUnder(draining, target, from: S(10)), Is.EqualTo(S(12.5)), "asaba was still above until 12.5 s");
            Assert.That(LagAnalysis.ReturnedUnder(draining.Where(sample => sample.Replica == "abuja"), target, from: S(10)), Is.EqualTo(S(11)));
            Assert.That(LagAnalysis.ReturnedUnder(draining.Where(sample => sample.At < S(12.5)), target, from: S(10)), Is.Null, "asaba never came back in the window");
            Assert.That(LagAnalysis.ReturnedUnder(draining, target, from: S(20)), Is.Null, "no evidence after the point");
        });
    }
}

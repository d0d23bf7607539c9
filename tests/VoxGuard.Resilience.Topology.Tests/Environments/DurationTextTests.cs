using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Topology.Tests.Environments;

[TestFixture]
public sealed class DurationTextTests
{
    [TestCase("500ms", 500)]
    [TestCase("10s", 10_000)]
    [TestCase("1.5s", 1_500)]
    [TestCase("30min", 1_800_000)]
    [TestCase("1h", 3_600_000)]
    [TestCase("0s", 0)]
    [TestCase("-5ms", -5)]
    public void A_number_and_a_unit_is_a_duration(string text, double milliseconds)
    {
        Assert.That(DurationText.Parse(text), Is.EqualTo(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [TestCase("10")]
    [TestCase("10 s")]
    [TestCase("10sec")]
    [TestCase("10S")]
    [TestCase("s")]
    [TestCase(".5s")]
    [TestCase("1e3ms")]
    [TestCase("")]
    public void Anything_else_is_not(string text)
    {
        Assert.That(DurationText.TryParse(text, out _), Is.False);
    }

    [TestCase(50_000, "50s")]
    [TestCase(500, "500ms")]
    [TestCase(1_800_000, "30min")]
    [TestCase(1_500, "1500ms")]
    [TestCase(0, "0s")]
    public void Durations_are_written_in_the_largest_exact_unit(double milliseconds, string text)
    {
        Assert.That(DurationText.Format(TimeSpan.FromMilliseconds(milliseconds)), Is.EqualTo(text));
    }
}

using System.Diagnostics;
using VoxGuard.Resilience.Sip.Load;

namespace VoxGuard.Resilience.Sip.Tests.Load;

public class HostCpuTimesTests
{
    // user nice system idle iowait irq softirq steal guest guest_nice, then one line per core.
    private const string Stat = """
        cpu  1000 20 300 5000 80 7 13 40 0 0
        cpu0 500 10 150 2500 40 3 7 20 0 0
        cpu1 500 10 150 2500 40 4 6 20 0 0
        intr 123 0 0

        """;

    [Test]
    public void Reads_busy_idle_and_stolen_ticks_from_the_aggregate_line_not_a_core_s()
    {
        Assert.That(HostCpuTimes.Parse(Stat), Is.EqualTo(new HostCpuTimes(Busy: 1000 + 20 + 300 + 7 + 13, Idle: 5000 + 80, Stolen: 40)));
    }

    [Test]
    public void A_line_too_short_or_unreadable_is_unknown_and_the_share_is_of_all_ticks_between_two_readings()
    {
        Assert.That(HostCpuTimes.Parse("cpu  1 2 3 4 5 6 7\n"), Is.Null, "no steal field");
        Assert.That(HostCpuTimes.Parse("cpu  1 2 x 4 5 6 7 8\n"), Is.Null);
        Assert.That(HostCpuTimes.Parse("cpu0 1 2 3 4 5 6 7 8\n"), Is.Null, "a core's line is not the host's");

        var share = new HostCpuTimes(Busy: 1270, Idle: 5100, Stolen: 70).Since(new HostCpuTimes(Busy: 1000, Idle: 5080, Stolen: 40));
        Assert.That(share.BusyPercent, Is.EqualTo(100.0 * 270 / 320).Within(1e-9));
        Assert.That(share.StolenPercent, Is.EqualTo(100.0 * 30 / 320).Within(1e-9));
        Assert.That(share.Saturated, Is.True, "84 % busy and 9 % stolen: 94 % of the cores' time was not idle");
        Assert.That(new HostCpuShare(BusyPercent: 60, StolenPercent: 2).Saturated, Is.False);
        Assert.That(new HostCpuTimes(1, 2, 3).Since(new HostCpuTimes(1, 2, 3)), Is.EqualTo(new HostCpuShare(0, 0)), "no time passed");
        Assert.That(HostCpuTimes.SharedSince(null), Is.Null, "no first reading, no share");
    }

    [Test]
    public void A_busy_loop_on_one_core_shows_as_busy_time_of_this_host()
    {
        var before = HostCpuTimes.Read();
        Assert.That(before, Is.Not.Null, "/proc/stat is readable here");

        // 300 ms spinning on one core of this host: at least that much busy time must appear (the clock ticks at 100 Hz).
        var spinning = Stopwatch.StartNew();
        while (spinning.ElapsedMilliseconds < 300)
        {
        }

        var after = HostCpuTimes.Read()!.Value;
        Assert.That(after.Busy - before!.Value.Busy, Is.GreaterThanOrEqualTo(20), "≥ 0.2 s of busy ticks for 0.3 s of spinning");
        Assert.That(after.Since(before.Value).BusyPercent, Is.GreaterThan(0).And.LessThanOrEqualTo(100));
    }
}

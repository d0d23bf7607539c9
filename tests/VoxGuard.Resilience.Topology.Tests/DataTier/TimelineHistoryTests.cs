using VoxGuard.Resilience.Topology.DataTier;

namespace VoxGuard.Resilience.Topology.Tests.DataTier;

/// <summary>Reading where a promoted PostgreSQL's timeline forked, which decides whether a standby must be rewound.</summary>
[TestFixture]
public sealed class TimelineHistoryTests
{
    [TestCase("1\t0/1546650\tno recovery target specified\n", 2, 0x1546650L)]
    [TestCase("1\t0/3000060\tno recovery target specified\n\n2\t1/A0000D8\tno recovery target specified\n", 3, 0x1_0A0000D8L)]
    public void The_fork_point_is_the_last_switch_in_the_timeline_history(string history, int timeline, long expected) =>
        Assert.That(PostgresTier.ParseTimelineForkPoint(history, timeline), Is.EqualTo(expected));

    [Test]
    public void A_history_without_a_switch_position_is_refused_by_name() =>
        Assert.That(() => PostgresTier.ParseTimelineForkPoint("# nothing here\n", 2), Throws.TypeOf<FormatException>().With.Message.Contains("Timeline 2"));
}

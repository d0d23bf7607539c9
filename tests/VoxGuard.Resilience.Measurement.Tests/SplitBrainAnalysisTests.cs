using static VoxGuard.Resilience.Measurement.Tests.SyntheticTimeline;

namespace VoxGuard.Resilience.Measurement.Tests;

[TestFixture]
public sealed class SplitBrainAnalysisTests
{
    [Test]
    public void Two_nodes_claiming_the_primary_role_open_a_window_that_closes_when_one_steps_down()
    {
        RoleObservation[] roles =
        [
            new(S(0), "lagos", true), new(S(0), "abuja", false), new(S(0), "asaba", false),
            new(S(5), "abuja", true),          // promoted while lagos, isolated, still claims it
            new(S(6), "lagos", true),
            new(S(12), "lagos", false),        // rewound into a standby
            new(S(13), "abuja", true),
        ];

        var windows = SplitBrainAnalysis.DualPrimaryWindows(roles, end: S(20));

        Assert.That(windows, Has.Count.EqualTo(1));
        Assert.Multiple(() =>
        {
            Assert.That(windows[0].From, Is.EqualTo(S(5)));
            Assert.That(windows[0].Duration, Is.EqualTo(S(7)));
            Assert.That(windows[0].Nodes, Is.EqualTo(new[] { "abuja", "lagos" }));
        });
    }

    [Test]
    public void A_window_still_open_at_the_end_closes_there_and_a_clean_handover_opens_none()
    {
        RoleObservation[] stillSplit = [new(S(0), "lagos", true), new(S(3), "asaba", true)];
        RoleObservation[] handover = [new(S(0), "lagos", true), new(S(3), "lagos", false), new(S(3.5), "abuja", true)];

        Assert.Multiple(() =>
        {
            Assert.That(SplitBrainAnalysis.DualPrimaryWindows(stillSplit, end: S(10)).Single().Duration, Is.EqualTo(S(7)));
            Assert.That(SplitBrainAnalysis.DualPrimaryWindows(handover, end: S(10)), Is.Empty);
        });
    }
}

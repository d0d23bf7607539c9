using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Reporting.Tests;

/// <summary>The servers' account a drill prints under a scenario that missed a target.</summary>
[TestFixture]
public sealed class ServerAccountTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public void It_starts_a_second_before_the_first_fault_names_the_faults_and_the_log_and_stops_at_its_limit()
    {
        var report = Report([new FaultMarker("lose lagos", S(5), null)],
        [
            new(S(3.9), "abuja-patroni", "leader lock held by lagos", "Lock owner: lagos; I am abuja"),
            new(S(4.1), "abuja-redis", "Redis lost its master", "Connection with master lost"),
            new(S(6.5), "sip-balancer", "balancer marked lagos DOWN", "Server regions/lagos is DOWN"),
            new(S(25.04), "abuja-patroni", "Patroni promoted its node (took the leader lock)", "promoted self to leader by acquiring session lock"),
        ]);

        Assert.Multiple(() =>
        {
            Assert.That(ServerAccount.Of(report), Is.EqualTo(new[]
            {
                "what the servers said (lose lagos at +5.000 s); every line in lagos-region-loss-server-logs.txt:",
                "+   4.100 s  abuja-redis: Redis lost its master",
                "+   6.500 s  sip-balancer: balancer marked lagos DOWN",
                "+  25.040 s  abuja-patroni: Patroni promoted its node (took the leader lock)",
            }));
            Assert.That(ServerAccount.Of(report, maxEvents: 2).Skip(3), Is.EqualTo(new[] { "… and 1 more in the report's events." }), "the heading, two events, then the rest counted");
        });
    }

    [Test]
    public void Servers_that_said_nothing_after_the_fault_give_nothing_to_print() =>
        Assert.That(ServerAccount.Of(Report([new FaultMarker("lose lagos", S(5), null)], [new(S(1), "abuja-patroni", "leader lock held by lagos", "Lock owner: lagos; I am abuja")])), Is.Empty);

    private static ScenarioReport Report(IReadOnlyList<FaultMarker> faults, IReadOnlyList<ServerEvent> said) =>
        new("lagos-region-loss", "local", "ci", Start, Start.AddSeconds(40), [], faults, [], [], [], []) { ServerEvents = said };

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);
}

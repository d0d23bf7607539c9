using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.SipTier;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.SipTier;

/// <summary>Active/standby decisions on synthetic balancer observations (ci profile: failback after 5 s at 95 %).</summary>
[TestFixture]
public sealed class PriorityFailoverPolicyTests
{
    private static readonly DateTimeOffset Wall = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public void When_priority_1_fails_calls_go_to_priority_2_and_lagos_is_held_out_with_the_reason_recorded()
    {
        var policy = new PriorityFailoverPolicy(Environment());
        policy.Observe(States(lagos: true), S(0), Wall);
        policy.Observe(States(lagos: true), S(1), Wall);
        policy.Observe([State("lagos", true, 70) with { RawStatus = "UP 1/3" }, State("abuja", true, 15), State("asaba", true, 15)], S(2), Wall); // already failing

        var changes = policy.Observe(States(lagos: false), S(2.5), Wall);

        Assert.Multiple(() =>
        {
            Assert.That(policy.Serving, Is.EqualTo("abuja"));
            Assert.That(changes, Is.EquivalentTo(new Dictionary<string, int> { ["lagos"] = 0 }), "held out so it cannot take calls back the moment its checks pass");
            Assert.That(policy.History.Single().ToString(), Is.EqualTo("lagos → abuja: lagos DOWN (L4CON), automatic, after 1.5 s"));
        });
    }

    [Test]
    public void A_region_the_circuit_breaker_marked_down_is_named_so_in_the_history()
    {
        var policy = new PriorityFailoverPolicy(Environment());
        policy.Observe(States(lagos: true), S(0), Wall);

        policy.Observe([State("lagos", false, 70) with { CheckStatus = "HANA" }, State("abuja", true, 15), State("asaba", true, 15)], S(0.1), Wall);

        Assert.That(policy.History.Single().Reason, Is.EqualTo("lagos DOWN (HANA: its circuit breaker, calls' connections failing)"));
    }

    [Test]
    public void Failback_waits_for_the_delay_then_restores_lagos_weight()
    {
        var policy = FailedOver();
        var atDelay = new List<string>();
        for (var t = 10.0; t < 15.0; t += 0.5)
        {
            policy.Observe(States(lagos: true), S(t), Wall);
            atDelay.Add(policy.Serving);
        }

        var changes = policy.Observe(States(lagos: true), S(15.0), Wall);

        Assert.Multiple(() =>
        {
            Assert.That(atDelay, Is.All.EqualTo("abuja"), "not before the 5 s failback delay");
            Assert.That(policy.Serving, Is.EqualTo("lagos"));
            Assert.That(changes, Is.EquivalentTo(new Dictionary<string, int> { ["lagos"] = 70 }));
            Assert.That(policy.History[^1].Reason, Does.StartWith("failback after 5 s at health 100"));
            Assert.That(policy.History[^1].Duration, Is.EqualTo(S(5)));
        });
    }

    [Test]
    public void A_flapping_lagos_stays_held_until_its_health_over_the_delay_reaches_the_threshold()
    {
        var policy = FailedOver();
        for (var t = 10.0; t < 16.0; t += 0.5)
        {
            policy.Observe(States(lagos: t % 2 < 1.5), S(t), Wall); // down a quarter of the time
        }

        var whileFlapping = policy.Serving;
        for (var t = 16.0; t <= 21.5; t += 0.5)
        {
            policy.Observe(States(lagos: true), S(t), Wall);
        }

        Assert.Multiple(() =>
        {
            Assert.That(whileFlapping, Is.EqualTo("abuja"), "75 % health is under the 95 % threshold");
            Assert.That(policy.Serving, Is.EqualTo("lagos"), "five steady seconds later it is back");
        });
    }

    [Test]
    public void With_failback_disabled_lagos_never_gets_calls_back_and_a_failing_abuja_hands_over_to_asaba()
    {
        var environment = Environment() with { Failback = Environment().Failback with { Enabled = false } };
        var policy = new PriorityFailoverPolicy(environment);
        policy.Observe(States(lagos: false), S(1), Wall);
        for (var t = 2.0; t < 30; t += 1)
        {
            policy.Observe(States(lagos: true), S(t), Wall);
        }

        var servingAfterWait = policy.Serving;
        policy.Observe(States(lagos: true, abuja: false), S(31), Wall);

        Assert.Multiple(() =>
        {
            Assert.That(servingAfterWait, Is.EqualTo("abuja"));
            Assert.That(policy.Serving, Is.EqualTo("asaba"), "a held lagos is not a candidate; the next priority is");
            Assert.That(policy.History.Select(record => record.To), Is.EqualTo(new[] { "abuja", "asaba" }));
        });
    }

    private static PriorityFailoverPolicy FailedOver()
    {
        var policy = new PriorityFailoverPolicy(Environment());
        policy.Observe(States(lagos: true), S(0), Wall);
        for (var t = 1.0; t < 10; t += 1)
        {
            policy.Observe(States(lagos: false), S(t), Wall);
        }

        return policy;
    }

    private static EnvironmentDefinition Environment() => new EnvironmentLoader(RepositoryRoot.Environments).Load("local", "ci");

    private static BalancerServerState[] States(bool lagos, bool abuja = true, bool asaba = true) =>
        [State("lagos", lagos, 70), State("abuja", abuja, 15), State("asaba", asaba, 15)];

    private static BalancerServerState State(string region, bool up, int weight) =>
        new(region, up ? BalancerServerStatus.Up : BalancerServerStatus.Down, up ? "UP" : "DOWN", weight, up ? "L7OK" : "L4CON");

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);
}

using System.Net;
using VoxGuard.Resilience.Sip.Load;

namespace VoxGuard.Resilience.Sip.Tests.Load;

[TestFixture]
public sealed class LoadProfileTests
{
    private static readonly IPEndPoint Balancer = new(IPAddress.Parse("127.0.0.10"), 5060);

    [Test]
    public void A_steady_rate_plans_rate_times_duration_calls_evenly_spaced()
    {
        var profile = new LoadProfile { Target = Balancer, CallsPerSecond = 200, Duration = TimeSpan.FromSeconds(10) };

        Assert.Multiple(() =>
        {
            Assert.That(profile.PlannedCalls, Is.EqualTo(2000));
            Assert.That(profile.DueTime(0).TotalMilliseconds, Is.EqualTo(5).Within(1e-9));
            Assert.That(profile.DueTime(1999).TotalSeconds, Is.EqualTo(10).Within(1e-9));
        });
    }

    [Test]
    public void A_ramp_starts_slowly_and_reaches_the_rate_and_due_times_invert_the_schedule()
    {
        var profile = new LoadProfile { Target = Balancer, CallsPerSecond = 100, Duration = TimeSpan.FromSeconds(10), Ramp = TimeSpan.FromSeconds(4) };

        Assert.Multiple(() =>
        {
            Assert.That(profile.PlannedCalls, Is.EqualTo(800), "200 during the ramp (half rate on average) + 600 after");
            Assert.That(profile.CallsStartedBy(TimeSpan.FromSeconds(2)), Is.EqualTo(50).Within(1e-9), "a quarter of the ramp's calls by its middle");
            for (var index = 0L; index < profile.PlannedCalls; index += 37)
            {
                Assert.That(profile.CallsStartedBy(profile.DueTime(index)), Is.EqualTo((double)(index + 1)).Within(1e-3), $"call {index} (TimeSpan ticks are 100 ns)");
            }
        });
    }

    [Test]
    public void Sources_are_consecutive_addresses_across_an_octet_boundary()
    {
        var profile = new LoadProfile { Target = Balancer, FirstSource = IPAddress.Parse("127.0.100.254"), SourceCount = 3 };

        Assert.That(profile.Sources().Select(source => source.ToString()), Is.EqualTo(new[] { "127.0.100.254", "127.0.100.255", "127.0.101.0" }));
    }

    [Test]
    public void Every_problem_is_named_in_one_message()
    {
        var profile = new LoadProfile
        {
            Target = new IPEndPoint(IPAddress.Parse("10.0.0.1"), 5060),
            CallsPerSecond = 0,
            Duration = TimeSpan.FromHours(3),
            SourceCount = 0,
        };

        var problems = profile.Problems();

        Assert.Multiple(() =>
        {
            Assert.That(problems, Does.StartWith("Invalid load: "));
            Assert.That(problems, Does.Contain("10.0.0.1:5060 is outside 127.0.0.0/8"));
            Assert.That(problems, Does.Contain("rate 0 CPS"));
            Assert.That(problems, Does.Contain("duration"));
            Assert.That(problems, Does.Contain("source count 0"));
            Assert.ThrowsAsync<ArgumentException>(() => OpenLoopLoad.RunAsync(profile));
        });
    }

    [Test]
    public void Sources_leaving_loopback_are_refused()
    {
        var profile = new LoadProfile { Target = Balancer, FirstSource = IPAddress.Parse("127.255.255.250"), SourceCount = 10 };

        Assert.That(profile.Problems(), Does.Contain("leave 127.0.0.0/8"));
    }
}

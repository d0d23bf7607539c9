using System.Collections.Concurrent;
using System.Net;
using VoxGuard.Resilience.Sip.Load;
using VoxGuard.Resilience.Sip.Transports;
using VoxGuard.Resilience.Sip.UserAgents;
using VoxGuard.Resilience.Sip.Tests.Support;

namespace VoxGuard.Resilience.Sip.Tests.Load;

/// <summary>The load generator against an in-process UAS on 127.0.143.x (the suite's peer block).</summary>
[TestFixture]
[NonParallelizable]
public sealed class OpenLoopLoadTests
{
    [TestCase(SipTransportKind.Tcp)]
    [TestCase(SipTransportKind.Udp)]
    public async Task Calls_start_on_schedule_even_while_the_server_is_slow_and_come_from_every_source(SipTransportKind transport)
    {
        var sources = new ConcurrentDictionary<IPAddress, int>();
        await using var uas = new SipUserAgentServer(new SipUasOptions
        {
            UdpEndPoint = new IPEndPoint(TestAddresses.Peer, 0),
            TcpEndPoint = new IPEndPoint(TestAddresses.Peer, 0),
            ResponseHeaders = [new("X-VoxGuard-Region", "lagos")],
            OnInvite = async (call, cancellationToken) =>
            {
                sources.AddOrUpdate(call.RemoteEndPoint.Address, 1, (_, count) => count + 1);
                await Task.Delay(800, cancellationToken); // slower than the call interval: a closed loop would fall behind
                return CallDecision.Answer;
            },
        });
        var profile = new LoadProfile
        {
            Target = transport == SipTransportKind.Tcp ? uas.TcpEndPoint! : uas.UdpEndPoint!,
            Transport = transport,
            CallsPerSecond = 100,
            Duration = TimeSpan.FromSeconds(2),
            HoldTime = TimeSpan.FromMilliseconds(50),
            FirstSource = TestAddresses.Source(0),
            SourceCount = 5,
        };

        var result = await OpenLoopLoad.RunAsync(profile);
        var summary = result.Summarise();
        var lateness = result.Calls.Select((call, index) => (result.StartOf(call) - profile.DueTime(index)).TotalMilliseconds).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(summary.Calls, Is.EqualTo(200));
            Assert.That(summary.Succeeded, Is.EqualTo(200));
            Assert.That(result.SchedulingTime.TotalSeconds, Is.LessThan(2.3), "the slow server did not slow the schedule");
            Assert.That(lateness.Max(), Is.LessThan(250), "no call started far behind its due time");
            Assert.That(lateness.Min(), Is.GreaterThanOrEqualTo(0), "no call started before its due time");
            Assert.That(summary.StartLateness!.Max.TotalMilliseconds, Is.EqualTo(lateness.Max()).Within(0.05 + (lateness.Max() * 0.002)), "the summary's lateness is each call against its own due time (to the histogram's precision)");
            Assert.That(summary.Regions.Single().Region, Is.EqualTo("lagos"));
            Assert.That(summary.SetupP50!.Value.TotalMilliseconds, Is.GreaterThanOrEqualTo(800));
            Assert.That(summary.Regions.Single().Setup.P50, Is.EqualTo(summary.SetupP50), "one region: its setup times are all of them");
            Assert.That(summary.Regions.Single().FirstResponse!.P50.TotalMilliseconds, Is.LessThan(400), "the 180 came at once, before the slow hook");
            // Every answered call's stamps in order: started, INVITE sent, 180, 2xx read, call resumed on it.
            Assert.That(result.Calls.Where(call => !(call.StartedAt <= call.InviteSentAt && call.InviteSentAt <= call.FirstProvisionalAt
                && call.FirstProvisionalAt <= call.AnswerReadAt && call.AnswerReadAt <= call.AnsweredAt)), Is.Empty);
            Assert.That(summary.InviteSendDelay!.P99, Is.LessThan(summary.SetupP50), "the INVITE left long before the slow answer");
            Assert.That(summary.AnswerResumeDelay, Is.Not.Null);
            Assert.That(sources.Keys.Select(address => address.ToString()), Is.EquivalentTo(profile.Sources().Select(address => address.ToString())));
            Assert.That(sources.Values, Is.All.EqualTo(40), "round robin over the sources");
            Assert.That(result.Cost, Is.Not.Null);
            Assert.That(result.Cost!.Elapsed, Is.EqualTo(result.Elapsed));
            Assert.That(result.Cost.Cpu, Is.GreaterThan(TimeSpan.Zero), "200 calls cost this process some CPU");
            Assert.That(result.Cost.GcPause, Is.GreaterThanOrEqualTo(TimeSpan.Zero).And.LessThan(result.Elapsed));
        });
    }

    [Test]
    public void Latency_percentiles_are_none_without_latencies_and_keep_the_slowest()
    {
        var latencies = Enumerable.Range(1, 100).Select(ms => TimeSpan.FromMilliseconds(ms)).ToList();
        var percentiles = LatencyPercentiles.Of(latencies)!;

        Assert.Multiple(() =>
        {
            Assert.That(LatencyPercentiles.Of([]), Is.Null);
            Assert.That(percentiles.P50.TotalMilliseconds, Is.EqualTo(50).Within(0.1));
            Assert.That(percentiles.P99.TotalMilliseconds, Is.EqualTo(99).Within(0.1));
            Assert.That(percentiles.Max.TotalMilliseconds, Is.EqualTo(100).Within(0.1));
            Assert.That(LatencyPercentiles.Of([TimeSpan.FromHours(1)])!.Max, Is.GreaterThanOrEqualTo(TimeSpan.FromMinutes(4)), "beyond the histogram's range is kept at its top, not thrown");
        });
    }

    [Test]
    public void The_generator_s_cost_is_a_share_of_the_run_s_wall_time()
    {
        var cost = new GeneratorCost(TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(1500), 12, TimeSpan.FromSeconds(12));

        Assert.Multiple(() =>
        {
            Assert.That(cost.CpuPercentOfCore, Is.EqualTo(25).Within(1e-9));
            Assert.That(cost.PausedPercent, Is.EqualTo(12.5).Within(1e-9));
            Assert.That(new GeneratorCost(TimeSpan.FromSeconds(1), TimeSpan.Zero, 0, TimeSpan.Zero).CpuPercentOfCore, Is.Zero, "no run, no share");
        });
    }

    [Test]
    public async Task Refused_calls_are_counted_as_failures_by_status_not_thrown()
    {
        await using var uas = new SipUserAgentServer(new SipUasOptions
        {
            UdpEndPoint = new IPEndPoint(TestAddresses.Peer, 0),
            OnInvite = (_, _) => ValueTask.FromResult(CallDecision.Reject(503, "Service Unavailable")),
        });

        var result = await OpenLoopLoad.RunAsync(new LoadProfile
        {
            Target = uas.UdpEndPoint!,
            Transport = SipTransportKind.Udp,
            CallsPerSecond = 50,
            Duration = TimeSpan.FromSeconds(1),
            FirstSource = TestAddresses.Source(10),
            SourceCount = 2,
        });
        var summary = result.Summarise();

        Assert.Multiple(() =>
        {
            Assert.That(summary.Succeeded, Is.Zero);
            Assert.That(summary.Failures, Is.EqualTo(new Dictionary<string, long> { ["Rejected 503"] = 50 }));
            Assert.That(summary.SetupP50, Is.Null);
        });
    }
}

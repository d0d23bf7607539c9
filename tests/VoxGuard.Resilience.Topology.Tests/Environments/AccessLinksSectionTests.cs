using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Environments;

/// <summary>
/// The balancer's <c>access_links</c>: off without the section (the balancer reaches the proxies directly), one link per
/// region with it, named and addressed as the plan says, and one message naming every problem when it is wrong.
/// </summary>
[TestFixture]
public sealed class AccessLinksSectionTests
{
    private RunDirectory? _run;

    [TearDown]
    public async Task RemoveRunAsync()
    {
        if (_run is not null)
        {
            await _run.DisposeAsync();
            _run = null;
        }
    }

    private static string With(string section, string transport = "tcp") =>
        TinyEnvironment.With("  redispatch: true", $"  redispatch: true\n  access_links: {section}")
            .Replace("transport: tcp", $"transport: {transport}", StringComparison.Ordinal);

    [Test]
    public void Without_the_section_the_balancer_reaches_every_proxy_directly()
    {
        var environment = TinyEnvironment.Parse(TinyEnvironment.Yaml);
        var lagos = environment.Region("lagos");

        Assert.Multiple(() =>
        {
            Assert.That(environment.Balancer.AccessLinks, Is.EqualTo(BalancerAccessLinks.Off));
            Assert.That(BalancerAccessLinkPlan.For(environment), Is.Empty);
            Assert.That(BalancerAccessLinkPlan.EntryFor(environment, lagos), Is.EqualTo(lagos.Sip.TcpEndPoint));
            Assert.That(HaproxyConfig.For(environment, Run()), Does.Contain("server lagos 127.0.1.1:5060 "));
        });
    }

    [Test]
    public void With_the_section_each_region_gets_a_link_from_the_balancer_at_host_199_of_its_block()
    {
        var environment = TinyEnvironment.Parse(With("{ latency: 10ms }", transport: "udp"), "ci");
        var links = BalancerAccessLinkPlan.For(environment);

        Assert.Multiple(() =>
        {
            Assert.That(environment.Balancer.AccessLinks, Is.EqualTo(new BalancerAccessLinks(true, TimeSpan.FromMilliseconds(10))));
            Assert.That(links.Select(link => link.Name), Is.EqualTo(new[] { "balancer-lagos-sip", "balancer-abuja-sip", "balancer-asaba-sip" }));
            Assert.That(links[0].Listen, Is.EqualTo(IPEndPoint.Parse("127.0.1.199:5060")));
            Assert.That(links[0].Upstream, Is.EqualTo(IPEndPoint.Parse("127.0.1.1:5060")));
            Assert.That(links.Select(link => link.Protocol), Has.All.EqualTo(TransportProtocol.Udp), "the dispatcher balancer speaks UDP");
            Assert.That(links.Select(link => link.OneWayLatency), Has.All.EqualTo(TimeSpan.FromMilliseconds(5)));
            Assert.That(links.Select(link => link.IsAccessLink), Has.All.True);
            Assert.That(KamailioConfig.DispatcherList(environment), Does.Contain(" sip:127.0.1.199:5060 "));
            Assert.That(KamailioConfig.For(environment, Run(), environment.Region("lagos")), Does.Contain("force_rport();")
                .And.Contain("alias=udp:127.0.1.199:5060")
                .And.Contain("record_route_preset(\"127.0.1.1:5060;r2=on\", \"127.0.1.199:5060;r2=on\")"));
        });
    }

    [Test]
    public void Over_tcp_haproxy_sends_each_region_to_its_access_link()
    {
        var environment = TinyEnvironment.Parse(With("{ latency: 10ms }"), "ci");

        Assert.Multiple(() =>
        {
            Assert.That(BalancerAccessLinkPlan.For(environment).Select(link => link.Protocol), Has.All.EqualTo(TransportProtocol.Tcp));
            Assert.That(HaproxyConfig.For(environment, Run()), Does.Contain("server lagos 127.0.1.199:5060 "));
        });
    }

    [Test]
    public void Enabled_false_keeps_them_off()
    {
        var environment = TinyEnvironment.Parse(With("{ enabled: false, latency: 10ms }"));

        Assert.That(BalancerAccessLinkPlan.For(environment), Is.Empty);
    }

    [Test]
    public void A_negative_latency_and_an_unknown_key_are_named()
    {
        var error = TinyEnvironment.Refuse(With("{ latency: -5ms, jitter: 2ms }"));

        Assert.Multiple(() =>
        {
            Assert.That(error.Problems, Has.Count.EqualTo(2));
            Assert.That(error.Problems, Has.Some.StartWith("balancer.access_links.latency is -5ms; a round trip is 0 or more"));
            Assert.That(error.Problems, Has.Some.Contain("jitter"));
        });
    }

    [Test]
    public void A_latency_the_health_checks_cannot_cross_in_time_is_refused_with_the_fix()
    {
        var error = TinyEnvironment.Refuse(With("{ latency: 500ms }"), "ci");

        Assert.That(error.Problems.Single(), Does.StartWith(
            "balancer.access_links.latency is 500ms, not below the health check's timeout 500ms: every SIP OPTIONS check crosses the access link and would time out")
            .And.Contain("lower the latency or raise balancer.health_check.timeout"));
    }

    [Test]
    public void A_region_named_balancer_is_refused_while_access_links_are_on()
    {
        var error = TinyEnvironment.Refuse(With("{ latency: 10ms }").Replace("name: asaba", "name: balancer", StringComparison.Ordinal)
            .Replace("asaba: 50", "balancer: 50", StringComparison.Ordinal).Replace("to: asaba", "to: balancer", StringComparison.Ordinal));

        Assert.That(error.Problems.Single(), Does.StartWith("regions[2].name balancer is the name of the balancer's access links"));
    }

    private RunDirectory Run() => _run ??= RunDirectory.Create();
}

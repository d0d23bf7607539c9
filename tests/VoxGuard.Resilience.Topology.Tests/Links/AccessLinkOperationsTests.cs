using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Tests.SipTier;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Links;

/// <summary>
/// The balancer's access links on a real link server (no SIP servers): created as UDP links with the access latency,
/// shaped and unshaped by name, and left alone when their region is isolated. Blocks 127.0.251–253.x.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class AccessLinkOperationsTests
{
    private static readonly EnvironmentDefinition Environment = SipEnvironments.InBlocks(251, transport: "udp", accessLinks: "{ latency: 10ms }");

    private RunningLinks _running = null!;

    [SetUp]
    public async Task StartAsync() => _running = await RunningLinks.StartAsync(Environment);

    [TearDown]
    public async Task StopAsync() => await _running.DisposeAsync();

    [Test]
    public async Task Applying_creates_a_udp_access_link_per_region_with_half_the_access_latency_each_way()
    {
        var proxies = await _running.Client.GetProxiesAsync();
        var lagos = proxies["balancer-lagos-sip"];

        Assert.Multiple(() =>
        {
            Assert.That(proxies.Keys, Is.SupersetOf(new[] { "balancer-lagos-sip", "balancer-abuja-sip", "balancer-asaba-sip" }));
            Assert.That(lagos.Protocol, Is.EqualTo("udp"));
            Assert.That(lagos.Listen, Is.EqualTo("127.0.251.199:5060"));
            Assert.That(lagos.Upstream, Is.EqualTo("127.0.251.1:5060"));
            Assert.That(lagos.Toxics.Select(toxic => (toxic.Stream, toxic.Attributes["latency"])),
                Is.EquivalentTo(new[] { ("upstream", 5L), ("downstream", 5L) }));
        });
    }

    [Test]
    public async Task Isolating_a_region_leaves_its_access_link_open_and_shaping_it_by_name_works()
    {
        await _running.Links.IsolateAsync("lagos", IsolationMode.Blackhole);
        await _running.Links.ShapeAsync("balancer-lagos-sip", ToxicSpec.Timeout(TimeSpan.Zero) with { Name = "wan-blackhole" });
        var shaped = (await _running.Client.GetProxiesAsync())["balancer-lagos-sip"];
        var isolated = await _running.Links.IsolatedLinksAsync("lagos");
        await _running.Links.UnshapeAsync("balancer-lagos-sip");
        var unshaped = (await _running.Client.GetProxiesAsync())["balancer-lagos-sip"];

        Assert.Multiple(() =>
        {
            Assert.That(isolated, Is.Not.Empty.And.None.StartWith("balancer-"), "isolation is between regions");
            Assert.That(shaped.Enabled, Is.True);
            Assert.That(shaped.Toxics.Select(toxic => toxic.Name), Does.Contain("wan-blackhole"));
            Assert.That(unshaped.Toxics.Select(toxic => toxic.Name), Is.EquivalentTo(new[] { "region-latency-upstream", "region-latency-downstream" }),
                "unshape keeps the access latency");
        });
    }
}

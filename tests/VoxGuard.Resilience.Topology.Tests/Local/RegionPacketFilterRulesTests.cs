using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Local;

namespace VoxGuard.Resilience.Topology.Tests.Local;

/// <summary>
/// What a region's packet filter writes into the kernel, and which addresses an isolation drops: the rules are
/// precise (each address both ways, a port at either end, loopback left alone by the jumps), so the functional tests
/// in containers (RegionPacketFilterTests) measure the fault this describes.
/// </summary>
[TestFixture]
public sealed class RegionPacketFilterRulesTests
{
    private static readonly EnvironmentDefinition Containers = EnvironmentLoader.FromRepository().Load("containers", "ci");

    [Test]
    public void An_isolation_drops_every_packet_to_and_from_each_link_address_and_nothing_else()
    {
        var rules = RegionPacketFilter.Rules([IPAddress.Parse("10.231.1.101"), IPAddress.Parse("10.231.2.200")], isolated: true, []);

        Assert.That(rules, Is.EqualTo(new[]
        {
            "-A VOXGUARD-IN -s 10.231.1.101/32 -j DROP",
            "-A VOXGUARD-OUT -d 10.231.1.101/32 -j DROP",
            "-A VOXGUARD-IN -s 10.231.2.200/32 -j DROP",
            "-A VOXGUARD-OUT -d 10.231.2.200/32 -j DROP",
        }));
    }

    [Test]
    public void A_loss_on_a_port_matches_either_end_both_ways_and_any_protocol_means_udp_and_tcp() => Assert.Multiple(() =>
    {
        Assert.That(RegionPacketFilter.Rules([], isolated: false, [new PacketLoss(0.3, PacketProtocol.Udp, 5060)]), Is.EqualTo(new[]
        {
            "-A VOXGUARD-IN -p udp --dport 5060 -m statistic --mode random --probability 0.3 -j DROP",
            "-A VOXGUARD-IN -p udp --sport 5060 -m statistic --mode random --probability 0.3 -j DROP",
            "-A VOXGUARD-OUT -p udp --dport 5060 -m statistic --mode random --probability 0.3 -j DROP",
            "-A VOXGUARD-OUT -p udp --sport 5060 -m statistic --mode random --probability 0.3 -j DROP",
        }));
        Assert.That(RegionPacketFilter.Rules([], isolated: false, [new PacketLoss(0.05, PacketProtocol.Any, 6379)]), Has.Count.EqualTo(8));
        Assert.That(RegionPacketFilter.Rules([], isolated: false, [new PacketLoss(1)]), Is.EqualTo(new[]
        {
            "-A VOXGUARD-IN -m statistic --mode random --probability 1 -j DROP",
            "-A VOXGUARD-OUT -m statistic --mode random --probability 1 -j DROP",
        }));
    });

    [Test]
    public void Nothing_isolated_and_no_loss_leaves_both_chains_declared_and_empty()
    {
        var script = RegionPacketFilter.RestoreScript([IPAddress.Parse("10.231.1.101")], isolated: false, []);

        Assert.That(script.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Is.EqualTo(new[] { "*filter", ":VOXGUARD-IN - [0:0]", ":VOXGUARD-OUT - [0:0]", "COMMIT" }));
    }

    [TestCase(0.0, "probability 0 must be above 0 and at most 1")]
    [TestCase(1.01, "probability 1.01 must be above 0 and at most 1")]
    [TestCase(double.NaN, "probability NaN must be above 0 and at most 1")]
    public void A_probability_outside_0_to_1_is_refused(double probability, string problem) =>
        Assert.That(new PacketLoss(probability).Problems(), Is.EqualTo(new[] { problem + " (0.3 drops 30 % of packets)" }));

    [Test]
    public void Lagos_is_cut_off_at_its_gateways_its_link_source_and_the_others_link_facing_addresses()
    {
        var lagos = Containers.Region("lagos");

        var addresses = InterRegionLinkPlan.InterRegionAddressesOf(Containers, lagos).Select(address => address.ToString());

        Assert.That(addresses, Is.EqualTo(new[] { "10.231.1.101", "10.231.1.102", "10.231.1.201", "10.231.2.200", "10.231.3.200" }));
    }

    [Test]
    public void Links_into_a_region_leave_from_its_link_source_address_but_the_balancers_access_to_its_proxy_does_not()
    {
        var sources = InterRegionLinkPlan.UpstreamSources(Containers);
        var lagos = Containers.Region("lagos");

        Assert.Multiple(() =>
        {
            Assert.That(sources(lagos.Redis.EndPoint), Is.EqualTo(IPAddress.Parse("10.231.1.201")));
            Assert.That(sources(new IPEndPoint(Containers.Region("asaba").Postgres.Address, 5432)), Is.EqualTo(IPAddress.Parse("10.231.3.201")));
            Assert.That(sources(new IPEndPoint(lagos.Sip.Address, lagos.Sip.TcpPort)), Is.Null, "the balancer's leg keeps the host side's own address");
            Assert.That(sources(new IPEndPoint(IPAddress.Loopback, 5432)), Is.Null);
        });
    }
}

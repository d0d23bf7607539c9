using System.Net;
using VoxGuard.Resilience.Contracts;
using VoxGuard.Resilience.Sip.Transports;

namespace VoxGuard.Resilience.Sip.Tests.Transports;

/// <summary>
/// The network rule: loopback always; a network only while the harness that made it declares it; never anything else.
/// (10.231.250.0/24 is declared by no other test.)
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class NetworkRuleTests
{
    private static readonly IPNetwork RegionNetwork = IPNetwork.Parse("10.231.250.0/24");
    private static readonly IPAddress InRegion = IPAddress.Parse("10.231.250.11");

    [Test]
    public void Loopback_is_admitted_and_other_addresses_are_not()
    {
        Assert.Multiple(() =>
        {
            Assert.That(NetworkRule.Admits(IPAddress.Parse("127.0.42.7")), Is.True);
            Assert.That(NetworkRule.Admits(IPAddress.Parse("::ffff:127.0.0.1")), Is.True);
            Assert.That(NetworkRule.Admits(InRegion), Is.False);
            Assert.That(NetworkRule.Admits(IPAddress.Parse("192.0.2.1")), Is.False);
            Assert.That(NetworkRule.Admits(IPAddress.IPv6Loopback), Is.False, "IPv4 only, as every server binds");
        });
    }

    [Test]
    public void A_declared_network_is_admitted_until_its_declaration_is_disposed_and_passed_to_child_processes()
    {
        var declaration = NetworkRule.DeclareOwn(RegionNetwork);
        try
        {
            Assert.Multiple(() =>
            {
                Assert.That(NetworkRule.Admits(InRegion), Is.True);
                Assert.That(NetworkRule.Admits(IPAddress.Parse("10.231.251.11")), Is.False, "only the declared block");
                Assert.That(NetworkRule.ForChildProcess(), Does.Contain("10.231.250.0/24"));
                Assert.That(NetworkRule.Describe(), Does.Contain("10.231.250.0/24"));
                Assert.DoesNotThrow(() => SipLoopback.Ensure(new IPEndPoint(InRegion, 5060), "UDP destination"));
            });
        }
        finally
        {
            declaration.Dispose();
        }

        Assert.Multiple(() =>
        {
            Assert.That(NetworkRule.Admits(InRegion), Is.False);
            Assert.That(NetworkRule.ForChildProcess() ?? string.Empty, Does.Not.Contain("10.231.250.0/24"));
            var refused = Assert.Throws<ArgumentException>(() => SipLoopback.Ensure(new IPEndPoint(InRegion, 5060), "UDP destination"));
            Assert.That(refused!.Message, Does.Contain("Refusing UDP destination 10.231.250.11:5060").And.Contain("127.0.0.0/8"));
        });
    }

    [Test]
    public void Loopback_and_ipv6_networks_cannot_be_declared()
    {
        Assert.Throws<ArgumentException>(() => NetworkRule.DeclareOwn(IPNetwork.Parse("127.0.0.0/8")));
        Assert.Throws<ArgumentException>(() => NetworkRule.DeclareOwn(IPNetwork.Parse("fd00::/64")));
    }
}

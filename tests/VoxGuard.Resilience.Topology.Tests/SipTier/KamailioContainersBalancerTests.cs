using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;
using VoxGuard.Resilience.Topology.SipTier;

namespace VoxGuard.Resilience.Topology.Tests.SipTier;

/// <summary>
/// The UDP balancer's configuration where regions are hosts of their own: it reaches each region from this machine's
/// side of that region's network (its first address), since no container can answer the balancer's loopback address;
/// with the access links on, or on loopback, it needs no such socket.
/// </summary>
[TestFixture]
public sealed class KamailioContainersBalancerTests
{
    [Test]
    public void The_dispatcher_listens_on_each_region_networks_first_address_and_picks_the_socket_by_route() => Assert.Multiple(() =>
    {
        var containers = Udp(EnvironmentLoader.FromRepository().Load("containers", "ci"));
        using var run = RunDirectory.Create();

        var config = KamailioConfig.BalancerFor(containers, run);

        Assert.That(config, Does.Contain("listen=udp:127.0.0.10:5060"));
        foreach (var block in new[] { "10.231.1.1", "10.231.2.1", "10.231.3.1" })
        {
            Assert.That(config, Does.Contain($"listen=udp:{block}:5060"));
        }

        Assert.That(config, Does.Contain("mhomed=1"));
    });

    [Test]
    public void On_loopback_the_dispatcher_listens_on_the_balancer_address_alone()
    {
        var local = Udp(EnvironmentLoader.FromRepository().Load("local", "ci"));
        using var run = RunDirectory.Create();

        var config = KamailioConfig.BalancerFor(local, run);

        Assert.Multiple(() =>
        {
            Assert.That(config.Split('\n').Count(line => line.StartsWith("listen=", StringComparison.Ordinal)), Is.EqualTo(1));
            Assert.That(config, Does.Not.Contain("mhomed"));
        });
    }

    private static EnvironmentDefinition Udp(EnvironmentDefinition environment) =>
        environment with { Balancer = environment.Balancer with { Transport = BalancerTransport.Udp } };
}

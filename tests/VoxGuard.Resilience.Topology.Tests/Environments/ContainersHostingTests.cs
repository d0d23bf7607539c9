using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Environments;

/// <summary>
/// <c>hosts: containers</c>: environments/containers.yaml is valid, and what a region's container network cannot be is
/// refused before anything starts, each problem named with its fix.
/// </summary>
[TestFixture]
public sealed class ContainersHostingTests
{
    private static string ContainersYaml => File.ReadAllText(Path.Combine(RepositoryRoot.Environments, "containers.yaml"));

    [Test]
    public void The_containers_environment_is_valid_with_private_blocks_and_local_stays_on_loopback()
    {
        var loader = new EnvironmentLoader(RepositoryRoot.Environments);
        var containers = loader.Load("containers", "ci");
        var local = loader.Load("local", "ci");

        Assert.Multiple(() =>
        {
            Assert.That(containers.Hosts, Is.EqualTo(RegionHosting.Containers));
            Assert.That(containers.Regions.Select(region => region.AddressBlock.ToString()), Is.EqualTo(new[] { "10.231.1.0/24", "10.231.2.0/24", "10.231.3.0/24" }));
            Assert.That(containers.Balancer.Address.ToString(), Is.EqualTo("127.0.0.10"), "the balancer stays on this machine's loopback");
            Assert.That(local.Hosts, Is.EqualTo(RegionHosting.Loopback), "loopback is the default");
            Assert.That(containers.Links.Select(link => link.Latency), Is.EqualTo(local.Links.Select(link => link.Latency)), "the same links as local");
        });
    }

    [Test]
    public void A_loopback_or_public_block_and_a_server_on_the_bridge_address_are_refused_while_udp_balancing_is_not()
    {
        var yaml = TinyEnvironment.With(ContainersYaml, "address_block: 10.231.2.0/24", "address_block: 127.0.2.0/24");
        yaml = TinyEnvironment.With(yaml, "address_block: 10.231.3.0/24", "address_block: 8.8.8.0/24");
        yaml = TinyEnvironment.With(yaml, "sip: { address: 10.231.1.11,", "sip: { address: 10.231.1.1,");
        yaml = TinyEnvironment.With(yaml, "  transport: tcp ", "  transport: udp ");

        var error = Assert.Throws<EnvironmentException>(() => EnvironmentLoader.Parse(yaml, "containers.yaml", "ci"))!;

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("regions[1].address_block 127.0.2.0/24 is not a private block: with hosts: containers"));
            Assert.That(error.Message, Does.Contain("regions[2].address_block 8.8.8.0/24 is not a private block"));
            Assert.That(error.Message, Does.Contain("regions[0].sip.address 10.231.1.1 is the first address of 10.231.1.0/24, this machine's side of the region's network"));
            Assert.That(error.Message, Does.Not.Contain("balancer.transport"), "the dispatcher reaches the regions from their networks' first addresses");
        });
    }

    [Test]
    public void An_unknown_hosting_is_refused_naming_the_choices()
    {
        var yaml = TinyEnvironment.With(ContainersYaml, "hosts: containers ", "hosts: kubernetes ");

        var error = Assert.Throws<EnvironmentException>(() => EnvironmentLoader.Parse(yaml, "containers.yaml", "ci"))!;

        Assert.That(error.Message, Does.Contain("hosts").And.Contain("kubernetes").And.Contain("loopback").And.Contain("containers"));
    }
}

using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Links;

[TestFixture]
public sealed class InterRegionLinkPlanTests
{
    private static readonly EnvironmentDefinition Local = EnvironmentLoader.FromRepository(RepositoryRoot.Path).Load("local");

    [Test]
    public void Every_pair_of_regions_gets_one_link_per_tcp_service_in_each_direction()
    {
        var plan = InterRegionLinkPlan.For(Local);

        Assert.Multiple(() =>
        {
            Assert.That(plan, Has.Count.EqualTo(3 * 9 * 2), "3 pairs × 9 services (sip, engine, redis, sentinel, pg, patroni, etcd, etcd-peer, pgbackrest) × 2 directions");
            Assert.That(plan.Select(link => link.Name), Is.Unique);
            Assert.That(plan.Select(link => link.Name), Does.Contain("lagos-abuja-pg").And.Contain("abuja-lagos-pg").And.Contain("asaba-abuja-sentinel").And.Contain("abuja-lagos-etcd-peer"));
        });
    }

    [Test]
    public void Abuja_reaches_lagos_postgres_through_a_gateway_in_its_own_block_carrying_the_lagos_abuja_latency()
    {
        var link = InterRegionLinkPlan.For(Local).Single(candidate => candidate.Name == "abuja-lagos-pg");

        Assert.Multiple(() =>
        {
            Assert.That(link.Listen, Is.EqualTo(IPEndPoint.Parse("127.0.2.100:5432")));
            Assert.That(link.Upstream, Is.EqualTo(Local.Region("lagos").Postgres.EndPoint));
            Assert.That(link.RoundTripLatency, Is.EqualTo(TimeSpan.FromMilliseconds(20)));
            Assert.That(link.OneWayLatency, Is.EqualTo(TimeSpan.FromMilliseconds(10)));
        });
    }

    [Test]
    public void Every_link_listens_inside_the_block_of_the_region_whose_clients_use_it_and_on_no_service_address()
    {
        var plan = InterRegionLinkPlan.For(Local);
        var serviceAddresses = Local.Regions.SelectMany(region => region.Bindings()).Select(binding => binding.EndPoint.Address).ToHashSet();

        Assert.Multiple(() =>
        {
            foreach (var link in plan)
            {
                Assert.That(Local.Region(link.From).AddressBlock.Contains(link.Listen.Address), Is.True, link.Name);
                Assert.That(serviceAddresses, Does.Not.Contain(link.Listen.Address), link.Name);
            }

            Assert.That(plan.Select(link => link.Listen), Is.Unique, "two links on one address and port");
        });
    }

    [Test]
    public void A_service_on_a_gateway_address_is_refused_with_a_message_naming_the_clash()
    {
        var clashing = TinyEnvironment.Parse(TinyEnvironment.Yaml.Replace("127.0.2.4", "127.0.2.100", StringComparison.Ordinal));

        var error = Assert.Throws<InvalidOperationException>(() => InterRegionLinkPlan.For(clashing));

        Assert.That(error!.Message, Does.Contain("abuja has a service on 127.0.2.100").And.Contain("below .100"));
    }
}

using System.Net;
using VoxGuard.Resilience.Topology.Compose;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Links;

namespace VoxGuard.Resilience.Engine.Tests;

/// <summary>Where an engine connects to reach a store node, and which region a Sentinel's answer names, in local and in docker-compose.chaos.yml.</summary>
[TestFixture]
public sealed class StoreRoutesTests
{
    private static readonly EnvironmentDefinition Local = EnvironmentLoader.FromRepository().Load("local", "ci");
    private static readonly EnvironmentDefinition Compose = ComposeTopology.For(Local);

    [Test]
    public void In_local_another_regions_store_is_reached_through_the_link_from_the_engines_own_region()
    {
        var routes = new StoreRoutes(Local, Local.Region("abuja"));
        var link = InterRegionLinkPlan.For(Local).Single(each => each.From == "abuja" && each.To == "lagos" && each.Service == RegionService.Postgres);

        Assert.Multiple(() =>
        {
            Assert.That(routes.To(Local.Region("abuja"), RegionService.Postgres), Is.EqualTo(Local.Region("abuja").Postgres.EndPoint), "its own region directly");
            Assert.That(routes.To(Local.Region("lagos"), RegionService.Postgres), Is.EqualTo(link.Listen));
        });
    }

    [Test]
    public void In_compose_another_regions_store_is_reached_through_the_compose_files_link_in_the_engines_network()
    {
        var routes = new StoreRoutes(Compose, Compose.Region("abuja"), ComposeTopology.LinksFor(Compose));

        Assert.Multiple(() =>
        {
            Assert.That(routes.To(Compose.Region("lagos"), RegionService.Postgres), Is.EqualTo(new IPEndPoint(IPAddress.Parse("10.241.2.200"), 5432)));
            Assert.That(routes.To(Compose.Region("asaba"), RegionService.Redis), Is.EqualTo(new IPEndPoint(IPAddress.Parse("10.241.2.200"), 6381)));
            Assert.That(routes.To(Compose.Region("abuja"), RegionService.Redis), Is.EqualTo(new IPEndPoint(IPAddress.Parse("10.241.2.13"), 6380)));
        });
    }

    [Test]
    public void A_sentinel_answer_names_its_region_by_link_facing_address_or_by_the_compose_files_host_name()
    {
        var local = new StoreRoutes(Local, Local.Region("lagos"));
        var abujaFacing = LinkSwitchboard.LinkFacingEndPoint(Local.Region("abuja"), RegionService.Redis);
        var compose = new StoreRoutes(Compose, Compose.Region("lagos"), ComposeTopology.LinksFor(Compose));

        Assert.Multiple(() =>
        {
            Assert.That(local.RegionAt(abujaFacing.Address.ToString(), abujaFacing.Port, RegionService.Redis)?.Name, Is.EqualTo("abuja"));
            Assert.That(compose.RegionAt("redis-asaba", 6381, RegionService.Redis)?.Name, Is.EqualTo("asaba"));
            Assert.That(compose.RegionAt("redis-asaba", 6379, RegionService.Redis), Is.Null, "a name with another region's port is no node of ours");
            Assert.That(compose.RegionAt("redis-nowhere", 6379, RegionService.Redis), Is.Null);
        });
    }
}

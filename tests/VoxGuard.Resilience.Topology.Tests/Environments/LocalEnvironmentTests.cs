using System.Net;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Environments;

/// <summary>The real environments/local.yaml, under both of its profiles, against the documented figures.</summary>
[TestFixture]
public sealed class LocalEnvironmentTests
{
    private EnvironmentLoader _loader = null!;

    [SetUp]
    public void CreateLoader() => _loader = new EnvironmentLoader(RepositoryRoot.Environments);

    [Test]
    public void Local_is_the_default_environment_and_documented_its_default_profile()
    {
        var local = _loader.Load();

        Assert.Multiple(() =>
        {
            Assert.That(local.Name, Is.EqualTo("local"));
            Assert.That(local.Source, Is.EqualTo("environments/local.yaml"));
            Assert.That(local.Profile?.Name, Is.EqualTo("documented"));
            Assert.That(local.Profiles, Is.EqualTo(new[] { "documented", "ci" }));
            Assert.That(_loader.KnownEnvironments, Does.Contain("local"));
        });
    }

    [Test]
    public void Regions_are_lagos_primary_then_abuja_and_asaba_with_weights_70_15_15_and_priorities_1_2_3()
    {
        var local = _loader.Load();

        Assert.Multiple(() =>
        {
            Assert.That(local.Regions.Select(region => region.Name), Is.EqualTo(new[] { "lagos", "abuja", "asaba" }));
            Assert.That(local.Regions.Select(region => region.Role), Is.EqualTo(new[] { RegionRole.Primary, RegionRole.Replica, RegionRole.Replica }));
            Assert.That(local.Regions.Select(region => region.Weight), Is.EqualTo(new[] { 70, 15, 15 }));
            Assert.That(local.Regions.Select(region => region.Priority), Is.EqualTo(new[] { 1, 2, 3 }));
            Assert.That(local.Primary.Name, Is.EqualTo("lagos"));
            Assert.That(local.Replicas.Select(region => region.Name), Is.EqualTo(new[] { "abuja", "asaba" }));
        });
    }

    [TestCase("lagos", 1)]
    [TestCase("abuja", 2)]
    [TestCase("asaba", 3)]
    public void Each_region_binds_its_services_in_its_own_loopback_block(string name, int octet)
    {
        var region = _loader.Load().Region(name);

        Assert.Multiple(() =>
        {
            Assert.That(region.AddressBlock.ToString(), Is.EqualTo($"127.0.{octet}.0/24"));
            Assert.That(region.Sip.UdpEndPoint.ToString(), Is.EqualTo($"127.0.{octet}.1:5060"));
            Assert.That(region.Sip.TcpEndPoint.ToString(), Is.EqualTo($"127.0.{octet}.1:5060"));
            Assert.That(region.Engine.EndPoint.ToString(), Is.EqualTo($"127.0.{octet}.2:5070"));
            Assert.That(region.Redis.EndPoint.ToString(), Is.EqualTo($"127.0.{octet}.3:6379"));
            Assert.That(region.Sentinel.EndPoint.ToString(), Is.EqualTo($"127.0.{octet}.3:26379"));
            Assert.That(region.Postgres.EndPoint.ToString(), Is.EqualTo($"127.0.{octet}.4:5432"));
            Assert.That(region.Bindings().Select(binding => binding.EndPoint.Address), Has.All.Matches<IPAddress>(address => region.AddressBlock.Contains(address)));
        });
    }

    [Test]
    public void Balancer_is_the_global_vip_with_redispatch_thirty_minute_affinity_and_a_5_2_circuit_breaker()
    {
        var balancer = _loader.Load().Balancer;

        Assert.Multiple(() =>
        {
            Assert.That(balancer.SipEndPoint.ToString(), Is.EqualTo("127.0.0.10:5060"));
            Assert.That(balancer.Transport, Is.EqualTo(BalancerTransport.Tcp));
            Assert.That(balancer.Mode, Is.EqualTo(BalancerMode.RoundRobin));
            Assert.That(balancer.Redispatch, Is.True);
            Assert.That(balancer.SessionAffinity.Timeout, Is.EqualTo(TimeSpan.FromMinutes(30)));
            Assert.That(balancer.CircuitBreaker, Is.EqualTo(new CircuitBreaker(FailuresToOpen: 5, SuccessesToClose: 2)));
        });
    }

    [Test]
    public void Documented_profile_has_the_guides_timings_and_its_50_second_detection_misses_the_30_second_failover_target()
    {
        var local = _loader.Load(profile: "documented");
        var health = local.Balancer.HealthCheck;

        Assert.Multiple(() =>
        {
            Assert.That(health, Is.EqualTo(new HealthCheck(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5), Rise: 2, Fall: 5)));
            Assert.That(health.DetectionTime, Is.EqualTo(TimeSpan.FromSeconds(50)));
            Assert.That(health.RecoveryTime, Is.EqualTo(TimeSpan.FromSeconds(20)));
            Assert.That(local.DetectionTime, Is.EqualTo(TimeSpan.FromSeconds(50)));
            Assert.That(local.Targets.Failover, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(local.DetectionMeetsFailoverTarget(), Is.False, "10 s × fall 5 = 50 s of detection alone exceeds the 30 s failover target");
            Assert.That(local.DetectionFinding(), Is.EqualTo("detection alone takes up to 50 s (interval 10 s × fall 5), beyond the 30 s failover target: these timings cannot meet it without calls to trip the circuit breaker."));
            Assert.That((local with { Balancer = local.Balancer with { CircuitBreaker = local.Balancer.CircuitBreaker with { Enabled = false } } }).DetectionFinding(),
                Does.EndWith("cannot meet it."), "with the breaker off, nothing else can");
            Assert.That(local.Failback.Delay, Is.EqualTo(TimeSpan.FromSeconds(300)));
        });
    }

    [Test]
    public void Ci_profile_detects_a_dead_region_in_one_and_a_half_seconds_within_the_failover_target()
    {
        var local = _loader.Load(profile: "ci");
        var health = local.Balancer.HealthCheck;

        Assert.Multiple(() =>
        {
            Assert.That(local.Profile?.Name, Is.EqualTo("ci"));
            Assert.That(health, Is.EqualTo(new HealthCheck(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500), Rise: 2, Fall: 3)));
            Assert.That(health.DetectionTime, Is.EqualTo(TimeSpan.FromMilliseconds(1500)));
            Assert.That(local.DetectionMeetsFailoverTarget(), Is.True);
            Assert.That(local.DetectionFinding(), Is.Null, "nothing to report");
            Assert.That(local.Failback.Delay, Is.EqualTo(TimeSpan.FromSeconds(5)));
        });
    }

    [TestCase("documented")]
    [TestCase("ci")]
    public void Profiles_change_only_timings_not_the_topology_or_targets(string profile)
    {
        var documented = _loader.Load(profile: "documented");
        var other = _loader.Load(profile: profile);

        Assert.Multiple(() =>
        {
            Assert.That(other.Regions, Is.EqualTo(documented.Regions));
            Assert.That(other.Links, Is.EqualTo(documented.Links));
            Assert.That(other.Targets.Failover, Is.EqualTo(documented.Targets.Failover));
            Assert.That(other.Replication, Is.EqualTo(documented.Replication));
            Assert.That(other.Failback.HealthThreshold, Is.EqualTo(0.95));
            Assert.That(other.Failback.Enabled, Is.True);
        });
    }

    [Test]
    public void Links_carry_the_documented_latencies_20_30_and_25_ms()
    {
        var local = _loader.Load();

        Assert.Multiple(() =>
        {
            Assert.That(local.LinkBetween("lagos", "abuja")?.Latency, Is.EqualTo(TimeSpan.FromMilliseconds(20)));
            Assert.That(local.LinkBetween("asaba", "lagos")?.Latency, Is.EqualTo(TimeSpan.FromMilliseconds(30)));
            Assert.That(local.LinkBetween("abuja", "asaba")?.Latency, Is.EqualTo(TimeSpan.FromMilliseconds(25)));
        });
    }

    [Test]
    public void Expanded_links_name_every_region_pair_and_service()
    {
        var links = _loader.Load().ExpandLinks();

        Assert.Multiple(() =>
        {
            Assert.That(links, Has.Count.EqualTo(3 * 9));
            Assert.That(links.Select(link => link.Name), Is.Unique);
            Assert.That(links.Where(link => link.From == "lagos" && link.To == "abuja").Select(link => link.Name), Is.EqualTo(new[]
            {
                "lagos-abuja-sip", "lagos-abuja-engine", "lagos-abuja-redis", "lagos-abuja-sentinel", "lagos-abuja-pg",
                "lagos-abuja-patroni", "lagos-abuja-etcd", "lagos-abuja-etcd-peer", "lagos-abuja-pgbackrest",
            }));
            Assert.That(links.Single(link => link.Name == "abuja-asaba-pg").Latency, Is.EqualTo(TimeSpan.FromMilliseconds(25)));
            Assert.That(links.Single(link => link.Name == "lagos-asaba-redis").Service, Is.EqualTo(RegionService.Redis));
        });
    }

    [Test]
    public void Expanded_links_can_be_limited_to_the_data_tier()
    {
        var links = _loader.Load().ExpandLinks([RegionService.Postgres, RegionService.Redis, RegionService.Sentinel]);

        Assert.That(links.Select(link => link.Name), Is.EqualTo(new[]
        {
            "lagos-abuja-pg", "lagos-abuja-redis", "lagos-abuja-sentinel",
            "lagos-asaba-pg", "lagos-asaba-redis", "lagos-asaba-sentinel",
            "abuja-asaba-pg", "abuja-asaba-redis", "abuja-asaba-sentinel",
        }));
    }

    [Test]
    public void Targets_and_replication_figures_are_the_guides()
    {
        var local = _loader.Load();

        Assert.Multiple(() =>
        {
            Assert.That(local.Targets.Rpo, Is.EqualTo(TimeSpan.FromMinutes(1)));
            Assert.That(local.Targets.Rto, Is.EqualTo(TimeSpan.FromMinutes(15)));
            Assert.That(local.Targets.TrafficSplitAfterPrimaryLoss, Is.EquivalentTo(new Dictionary<string, double> { ["abuja"] = 50, ["asaba"] = 50 }));
            Assert.That(local.Targets.DistributionDeviationAlertPercent, Is.EqualTo(20));
            Assert.That(local.Replication.LagTarget, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
            Assert.That(local.Replication.LagAlert, Is.EqualTo(TimeSpan.FromMilliseconds(500)));
        });
    }

    [Test]
    public void Loading_by_path_gives_the_same_environment_named_by_that_path()
    {
        var path = Path.Combine(RepositoryRoot.Environments, "local.yaml");
        var byPath = EnvironmentLoader.LoadFile(path, "ci");
        var byName = _loader.Load("local", "ci");

        Assert.Multiple(() =>
        {
            Assert.That(byPath.Source, Is.EqualTo(path));
            Assert.That(byPath.Profile, Is.EqualTo(byName.Profile));
            Assert.That(byPath.Links, Is.EqualTo(byName.Links));
            Assert.That(byPath.Failback, Is.EqualTo(byName.Failback));
            Assert.That(byPath.Regions, Is.EqualTo(byName.Regions));
            Assert.That(byPath.Balancer, Is.EqualTo(byName.Balancer));
        });
    }

    [Test]
    public void The_repository_environments_folder_is_found_by_walking_up_to_the_solution()
    {
        var loader = EnvironmentLoader.FromRepository(TestContext.CurrentContext.TestDirectory);

        Assert.That(loader.EnvironmentsDirectory, Is.EqualTo(Path.GetFullPath(RepositoryRoot.Environments)));
    }

    [Test]
    public void The_loaded_environment_passes_validation_again()
    {
        var local = _loader.Load();

        Assert.DoesNotThrow(local.Validate);
    }
}

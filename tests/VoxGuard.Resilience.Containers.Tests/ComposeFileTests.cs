using VoxGuard.Resilience.Tests.Shared;
using VoxGuard.Resilience.Topology.Compose;
using VoxGuard.Resilience.Topology.Environments;
using YamlDotNet.RepresentationModel;

namespace VoxGuard.Resilience.Containers.Tests;

/// <summary>
/// docker-compose.chaos.yml pins the addresses and /etc/hosts names the rendered configurations use (ComposeTopology);
/// these tests keep the two in step, and the file inside what docker-compose 1.29 accepts. No engine needed.
/// </summary>
[TestFixture]
public sealed class ComposeFileTests
{
    private static readonly EnvironmentDefinition Compose =
        ComposeTopology.For(EnvironmentLoader.FromRepository(LocalEnvironmentInBlocks.RepositoryRoot).Load("local", "ci"));

    private YamlMappingNode _file = null!;

    private YamlMappingNode Services => (YamlMappingNode)_file["services"];

    /// <summary>The repository's docker-compose.chaos.yml.</summary>
    internal static string ComposeFilePath => Path.Combine(LocalEnvironmentInBlocks.RepositoryRoot, "docker-compose.chaos.yml");

    /// <summary>docker-compose.chaos.yml as YAML: its top-level mapping.</summary>
    internal static YamlMappingNode Read()
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(ComposeFilePath);
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    [OneTimeSetUp]
    public void ReadComposeFile() => _file = Read();

    [Test]
    public void Has_no_top_level_name_which_docker_compose_1_29_refuses() =>
        Assert.That(_file.Children.Keys.Select(key => key.ToString()), Does.Not.Contain("name"));

    [Test]
    public void Every_region_service_sits_at_the_address_its_rendered_configuration_uses()
    {
        for (var index = 0; index < Compose.Regions.Count; index++)
        {
            var region = Compose.Regions[index];
            Assert.Multiple(() =>
            {
                Assert.That(AddressOf($"kamailio-{region.Name}", region.Name), Is.EqualTo(region.Sip.Address.ToString()));
                Assert.That(AddressOf($"engine-{region.Name}", region.Name), Is.EqualTo(region.Engine.Address.ToString()));
                Assert.That(AddressOf($"redis-{region.Name}", region.Name), Is.EqualTo(region.Redis.Address.ToString()));
                Assert.That(AddressOf($"sentinel-{region.Name}", region.Name), Is.EqualTo(region.Sentinel.Address.ToString()));
                Assert.That(AddressOf($"etcd-{region.Name}", region.Name), Is.EqualTo(region.Etcd.Address.ToString()));
                Assert.That(AddressOf($"patroni-{region.Name}", region.Name), Is.EqualTo(region.Postgres.Address.ToString()));
                Assert.That(AddressOf("links", region.Name), Is.EqualTo(ComposeTopology.RegionAddress(index, ComposeTopology.LinkServerHost).ToString()));
                Assert.That(AddressOf("balancer", region.Name), Is.EqualTo(ComposeTopology.RegionAddress(index, ComposeTopology.BalancerHost).ToString()));
            });
        }
    }

    [Test]
    public void Each_region_resolves_other_regions_names_to_its_own_link_listeners()
    {
        foreach (var region in Compose.Regions)
        {
            foreach (var service in new[] { $"redis-{region.Name}", $"sentinel-{region.Name}", $"etcd-{region.Name}", $"patroni-{region.Name}" })
            {
                var hosts = ((YamlSequenceNode)((YamlMappingNode)Services[service])["extra_hosts"]).Select(node => node.ToString());
                Assert.That(hosts, Is.EquivalentTo(ComposeTopology.HostsOf(Compose, region)), service);
            }
        }
    }

    [Test]
    public void Every_service_but_the_renderer_has_a_health_check_and_everything_carries_the_label()
    {
        Assert.Multiple(() =>
        {
            foreach (var (name, node) in Services.Children.Select(pair => (pair.Key.ToString(), (YamlMappingNode)pair.Value)))
            {
                Assert.That(node.Children.ContainsKey("healthcheck"), Is.EqualTo(name != ChaosCompose.ConfigService), $"{name}: health check");
                Assert.That(((YamlMappingNode)node["labels"]).Children.ContainsKey(ChaosCompose.Label), $"{name}: label");
                Assert.That(((YamlMappingNode)node["labels"])[ContainerEngine.RunLabel].ToString(), Is.EqualTo("${VOXGUARD_RUN_ID:-}"), $"{name}: the run that started it, to reap after a kill");
            }

            foreach (var section in new[] { "networks", "volumes" })
            {
                foreach (var (name, node) in ((YamlMappingNode)_file[section]).Children.Select(pair => (pair.Key.ToString(), (YamlMappingNode)pair.Value)))
                {
                    Assert.That(((YamlMappingNode)node["labels"]).Children.ContainsKey(ChaosCompose.Label), $"{section}.{name}: label");
                    Assert.That(((YamlMappingNode)node["labels"]).Children.ContainsKey(ContainerEngine.RunLabel), $"{section}.{name}: run label");
                }
            }
        });
    }

    [Test]
    public void Region_networks_are_internal_and_only_the_edge_reaches_the_host()
    {
        var networks = (YamlMappingNode)_file["networks"];
        Assert.Multiple(() =>
        {
            foreach (var region in Compose.Regions)
            {
                Assert.That(((YamlMappingNode)networks[region.Name])["internal"].ToString(), Is.EqualTo("true"), region.Name);
            }

            Assert.That(((YamlMappingNode)networks["edge"]).Children.ContainsKey("internal"), Is.False);
        });
    }

    [Test]
    public async Task Rendered_configurations_put_the_regions_in_their_containers_and_replicate_by_name()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"voxguard-compose-render-{Environment.ProcessId}");
        try
        {
            var files = await ComposeFiles.WriteAsync(EnvironmentLoader.FromRepository(LocalEnvironmentInBlocks.RepositoryRoot).Load("local", "ci"), directory);
            var haproxy = await File.ReadAllTextAsync(Path.Combine(directory, "haproxy.cfg"));
            Assert.Multiple(async () =>
            {
                Assert.That(files, Does.Contain("kamailio-asaba.cfg").And.Contain("sentinel-lagos.conf").And.Contain(ComposeFiles.SipOptionsCheck));
                Assert.That(haproxy, Does.Contain("server lagos 10.241.1.11:5060 weight 70 check").And.Contain("server asaba 10.241.3.11:5062 weight 15 check"));
                Assert.That(haproxy, Does.Contain("bind 0.0.0.0:5060").And.Not.Contain("    source "), "each region is reached from the balancer's leg in its network");
                Assert.That(await File.ReadAllTextAsync(Path.Combine(directory, "redis-abuja.conf")), Does.Contain("replicaof redis-lagos 6379").And.Contain("replica-announce-ip redis-abuja"));
                Assert.That(await File.ReadAllTextAsync(Path.Combine(directory, "redis-lagos.conf")), Does.Not.Contain("replicaof"));
                Assert.That(await File.ReadAllTextAsync(Path.Combine(directory, "etcd-asaba.sh")),
                    Does.Contain("'--listen-peer-urls' 'http://10.241.3.15:2384'").And.Contain("'--advertise-client-urls' 'http://etcd-asaba:2383'")
                        .And.Contain("'lagos=http://etcd-lagos:2380,abuja=http://etcd-abuja:2382,asaba=http://etcd-asaba:2384'"));
                Assert.That(await File.ReadAllTextAsync(Path.Combine(directory, "sentinel-abuja.sh")),
                    Does.Contain("timeout 2 redis-cli -h redis-lagos -p 6379 ping").And.Contain("exec redis-server /config/sentinel-abuja.conf --sentinel"),
                    "a Sentinel starts once the master answers it (through the link from Abuja), not beside it");
                Assert.That(((YamlSequenceNode)((YamlMappingNode)Services["sentinel-abuja"])["command"]).Select(node => node.ToString()),
                    Is.EqualTo(new[] { "bash", "/config/sentinel-abuja.sh" }), "the compose file runs the rendered script");
                Assert.That(await File.ReadAllTextAsync(Path.Combine(directory, "patroni-abuja.yml")),
                    Does.Contain("connect_address: pg-abuja:5433").And.Contain("etcd-lagos:2379").And.Contain("10.241.1.0/24 trust").And.Not.Contain("fsync"),
                    "durable, reached by name through the links, trusting the regions' networks");
                Assert.That(await File.ReadAllTextAsync(Path.Combine(directory, "patroni-lagos.yml")), Does.Contain($"post_bootstrap: bash /config/{ComposeFiles.PostBootstrap}"));
                Assert.That(await File.ReadAllTextAsync(Path.Combine(directory, ComposeFiles.PostBootstrap)),
                    Does.Contain("exec psql \"$1\"").And.Contain("CREATE TABLE IF NOT EXISTS voxguard_writes"), "the bootstrap creates the engines' tables");
                Assert.That(File.Exists(Path.Combine(directory, ComposeFiles.ReadyMarker)));
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The ipv4_address of <paramref name="service"/> in <paramref name="network"/>.</summary>
    private string AddressOf(string service, string network) =>
        ((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)Services[service])["networks"])[network])["ipv4_address"].ToString();
}

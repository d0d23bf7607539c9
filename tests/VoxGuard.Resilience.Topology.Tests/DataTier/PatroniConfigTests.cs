using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.DataTier;

/// <summary>The commit rule as Patroni is told it (patroni.yml's dcs section).</summary>
[TestFixture]
public sealed class PatroniConfigTests
{
    private EnvironmentDefinition _local = null!;

    [SetUp]
    public void LoadLocal() => _local = new EnvironmentLoader(RepositoryRoot.Environments).Load("local", "ci");

    [Test]
    public void Majority_makes_every_standby_synchronous_and_strict_so_the_most_advanced_one_is_promoted()
    {
        var majority = _local with { Database = _local.Database with { Commit = CommitRule.Majority } };

        var yaml = PatroniConfig.For(majority, majority.Region("abuja"), "/data", "/socket", "/pgpass");

        Assert.Multiple(() =>
        {
            Assert.That(yaml, Does.Contain("    synchronous_mode: true\n"));
            Assert.That(yaml, Does.Contain("    synchronous_mode_strict: true\n"));
            // One synchronous standby of two let Patroni promote the one that had less WAL; the other was rewound first.
            Assert.That(yaml, Does.Contain("    synchronous_node_count: 2\n"));
        });
    }

    [Test]
    public void Async_leaves_synchronous_replication_off()
    {
        Assume.That(_local.Database.Commit, Is.EqualTo(CommitRule.Async), "environments/local.yaml commits async");

        var yaml = PatroniConfig.For(_local, _local.Region("abuja"), "/data", "/socket", "/pgpass");

        Assert.Multiple(() =>
        {
            Assert.That(yaml, Does.Contain("    synchronous_mode: false\n"));
            Assert.That(yaml, Does.Not.Contain("synchronous_node_count"));
        });
    }
}

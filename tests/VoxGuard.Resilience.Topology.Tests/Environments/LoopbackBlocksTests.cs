using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Environments;

/// <summary>environments/local.yaml moved to other loopback blocks: how two topologies of it run side by side.</summary>
[TestFixture]
public sealed class LoopbackBlocksTests
{
    private static string LocalYaml => File.ReadAllText(Path.Combine(RepositoryRoot.Environments, "local.yaml"));

    [TestCase(11)]
    [TestCase(21)]
    [TestCase(231)]
    public void Every_region_and_the_balancer_move_and_nothing_stays_in_the_original_blocks(int firstBlock)
    {
        var moved = EnvironmentLoader.Parse(LoopbackBlocks.Move(LocalYaml, firstBlock, firstBlock), "local moved", "ci");

        Assert.Multiple(() =>
        {
            Assert.That(moved.Regions.Select(region => region.AddressBlock.ToString()),
                Is.EqualTo(new[] { $"127.0.{firstBlock}.0/24", $"127.0.{firstBlock + 1}.0/24", $"127.0.{firstBlock + 2}.0/24" }));
            Assert.That(moved.Balancer.Address.ToString(), Is.EqualTo($"127.0.0.{firstBlock}"));
            Assert.That(LoopbackBlocks.Move(LocalYaml, firstBlock, firstBlock), Does.Not.Contain("127.0.1.").And.Not.Contain("127.0.2.").And.Not.Contain("127.0.3.").And.Not.Contain("127.0.0.10 "));
        });
    }

    [Test]
    public void Blocks_that_would_overlap_the_originals_and_text_of_another_environment_are_refused()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => LoopbackBlocks.Move(LocalYaml, 2, 20), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => LoopbackBlocks.Move(LocalYaml, 11, 10), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => LoopbackBlocks.Move(File.ReadAllText(Path.Combine(RepositoryRoot.Environments, "containers.yaml")), 11, 11),
                Throws.ArgumentException.With.Message.Contains("127.0.1–3.x"));
            Assert.That(LoopbackBlocks.CanMove(File.ReadAllText(Path.Combine(RepositoryRoot.Environments, "containers.yaml"))), Is.False);
            Assert.That(LoopbackBlocks.CanMove(LocalYaml), Is.True);
        });
    }
}

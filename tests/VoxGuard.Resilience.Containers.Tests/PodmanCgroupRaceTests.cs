namespace VoxGuard.Resilience.Containers.Tests;

/// <summary>
/// <see cref="ChaosCompose.UpAsync"/> retries podman 4.3's cgroup race and nothing else: a compose file or image that is
/// wrong must fail at once with its own message. No engine needed.
/// </summary>
[TestFixture]
public sealed class PodmanCgroupRaceTests
{
    [Test]
    public void Podmans_cgroup_race_inside_a_compose_failure_is_recognised()
    {
        // Podman's message (podman#16383, seen once in ChaosComposeTests) inside the failure ComposeAsync reports.
        const string seen = "docker-compose up -d of project voxguard-chaos-test failed (exit 1): ERROR: for lagos-engine  "
            + "read /proc/41873/cgroup: no such process";

        Assert.That(ChaosCompose.IsPodmanCgroupRace(seen), Is.True);
    }

    [TestCase("ERROR: for lagos-engine  no such image: voxguard-engine:latest")]
    [TestCase("ERROR: Service 'lagos-redis' depends on service 'config' which is undefined.")]
    [TestCase("open /sys/fs/cgroup/pids.max: no such file or directory")]
    public void Other_failures_are_not(string message) =>
        Assert.That(ChaosCompose.IsPodmanCgroupRace(message), Is.False);
}

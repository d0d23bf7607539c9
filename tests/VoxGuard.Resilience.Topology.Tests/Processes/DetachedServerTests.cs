using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Tests.Processes;

/// <summary>
/// A server found through its PID file (PostgreSQL under Patroni) is killed with everything below it: its children and
/// theirs (a backend's archive_command: sh, then pgbackrest archive-push).
/// </summary>
[TestFixture]
public sealed class DetachedServerTests : ScratchFixture
{
    [Test]
    public async Task Killing_a_detached_server_kills_its_childrens_children_too()
    {
        var data = Path.Combine(Scratch.Root, "data");
        Directory.CreateDirectory(data);
        var leader = await Scratch.StartDetachedAsync("/bin/sh", "-c", $"cd '{data}'; sh -c 'sleep 300; true' & wait");
        var pidFile = Path.Combine(data, "postmaster.pid");
        await File.WriteAllTextAsync(pidFile, $"{leader.Id}\n");
        IReadOnlyList<int> tree = [];
        Assert.That(await Proc.EventuallyAsync(() => (tree = DetachedServer.ProcessesOf(pidFile)).Count == 3), Is.True,
            "the server, its child (sh) and its grandchild (sleep)");

        await DetachedServer.KillAsync(pidFile, TimeSpan.FromSeconds(5));

        Assert.That(await Proc.EventuallyAsync(() => !tree.Any(Proc.IsRunning)), Is.True, $"every one of {string.Join(", ", tree)} is gone");
    }
}

using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Drills.Tests;

/// <summary>
/// Every topology these tests start lives under their own run root (<see cref="RunDirectory.RunRootVariable"/>), so
/// starting one reaps nobody else's abandoned runs, and the end can check that nothing was left behind.
/// </summary>
[SetUpFixture]
public sealed class OwnRunRoot
{
    // Short: HAProxy's stats socket path inside a run directory must stay under 98 characters.
    private static readonly string Root = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : "/tmp", $"vgr-drills-{Environment.ProcessId}");
    private string? _before;

    [OneTimeSetUp]
    public void Use()
    {
        _before = Environment.GetEnvironmentVariable(RunDirectory.RunRootVariable);
        Environment.SetEnvironmentVariable(RunDirectory.RunRootVariable, Root);
    }

    [OneTimeTearDown]
    public void CheckNothingLeft()
    {
        Environment.SetEnvironmentVariable(RunDirectory.RunRootVariable, _before);
        if (!Directory.Exists(Root))
        {
            return;
        }

        var left = Directory.GetFileSystemEntries(Root);
        if (left.Length > 0)
        {
            throw new InvalidOperationException(
                $"A topology was not disposed: {string.Join(", ", left)} is left in the tests' run root. Stop its processes with "
                + $"VOXGUARD_RESILIENCE_RUN_ROOT={Root} ./resilience down, then remove {Root}.");
        }

        Directory.Delete(Root);
    }
}

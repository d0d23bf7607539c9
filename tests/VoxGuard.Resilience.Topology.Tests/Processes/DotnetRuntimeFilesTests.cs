using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Tests.Processes;

/// <summary>
/// The names and directory of a .NET runtime's diagnostic files (the runtime's own rules), and that removing a dead
/// process's files touches no other process's. A real .NET server killed, and a killed run reaped, are in the CLI's
/// tests (DotnetRuntimeFilesTests, TopologyCommandTests).
/// </summary>
[TestFixture]
public sealed class DotnetRuntimeFilesTests : ScratchFixture
{
    [Test]
    public void A_process_has_a_diagnostic_port_and_two_debugger_pipes_named_by_its_pid_and_start_time() =>
        Assert.That(DotnetRuntimeFiles.Names(4242, 7930408),
            Is.EqualTo(new[] { "dotnet-diagnostic-4242-7930408-socket", "clr-debug-pipe-4242-7930408-in", "clr-debug-pipe-4242-7930408-out" }));

    [TestCase(null, "/tmp")]
    [TestCase("", "/tmp")]
    [TestCase("/var/tmp/mine", "/var/tmp/mine")]
    public void The_temporary_directory_is_TMPDIR_when_set_else_tmp(string? tmpdir, string expected) =>
        Assert.That(DotnetRuntimeFiles.TemporaryDirectory(tmpdir), Is.EqualTo(expected));

    [Test]
    public void A_server_given_its_own_TMPDIR_keeps_its_files_there()
    {
        var spec = new ProcessSpec("engine", "dotnet", "dotnet-sdk-10.0") { Environment = new Dictionary<string, string?> { ["TMPDIR"] = "/dev/shm/own" } };

        Assert.That(DotnetRuntimeFiles.TemporaryDirectoryOf(spec), Is.EqualTo("/dev/shm/own"));
    }

    [Test]
    public void Removing_a_dead_processs_files_leaves_every_other_processs()
    {
        string[] others = ["dotnet-diagnostic-4242-1111-socket", "dotnet-diagnostic-4243-7930408-socket", "clr-debug-pipe-4242-1111-in", "unrelated"];
        foreach (var name in DotnetRuntimeFiles.Names(4242, 7930408).Concat(others))
        {
            File.WriteAllText(Path.Combine(Scratch.Root, name), "");
        }

        DotnetRuntimeFiles.RemoveOf(4242, 7930408, Scratch.Root);

        Assert.That(Directory.GetFiles(Scratch.Root).Select(Path.GetFileName), Is.EquivalentTo(others));
    }

    [Test]
    public void Removing_from_a_directory_that_is_gone_does_nothing() =>
        Assert.DoesNotThrow(() => DotnetRuntimeFiles.RemoveOf(4242, 7930408, Path.Combine(Scratch.Root, "gone")));
}

using System.Diagnostics;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Cli.Tests;

/// <summary>
/// A .NET server the harness kills (an engine at its region's loss) leaves no runtime files behind: the runtime makes
/// its diagnostic port and the debugger's pipes in its temporary directory and removes them only when it exits by
/// itself. The server here is the CLI's own link server, a real .NET program, given a temporary directory of its own.
/// </summary>
[TestFixture]
[Category("Functional")]
public sealed class DotnetRuntimeFilesTests
{
    private string _temporary = null!;
    private string _runRoot = null!;

    [SetUp]
    public void CreateDirectories()
    {
        _temporary = Directory.CreateTempSubdirectory("vgr-runtime-").FullName;
        _runRoot = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : "/tmp", $"vgr-runtime-{Guid.NewGuid():N}"[..20]);
    }

    [TearDown]
    public void RemoveDirectories()
    {
        Directory.Delete(_temporary, recursive: true);
        if (Directory.Exists(_runRoot))
        {
            Directory.Delete(_runRoot, recursive: true);
        }
    }

    [Test]
    public async Task A_killed_dotnet_server_leaves_none_of_its_runtime_files()
    {
        await using var run = RunDirectory.Create(new RunDirectoryOptions { Root = _runRoot });
        var server = await run.StartProcessAsync(new ProcessSpec("link-server", "dotnet", "dotnet-sdk-10.0")
        {
            Arguments = [CliProcess.CliAssemblyPath, "links", "serve", "--listen", "127.0.0.1:0"],
            Environment = new Dictionary<string, string?> { ["TMPDIR"] = _temporary },
        });
        await server.WaitUntilReadyAsync(WaitStrategy.UntilOutputContains("listening on").WithTimeout(TimeSpan.FromSeconds(30)));
        var whileRunning = await RuntimeFilesOfAsync(server.Pid);

        var exit = await server.KillAsync();

        Assert.Multiple(() =>
        {
            Assert.That(whileRunning, Has.Some.StartsWith("dotnet-diagnostic-").And.Some.StartsWith("clr-debug-pipe-"),
                "the runtime made its files in the server's own temporary directory");
            Assert.That(exit.ExitCode, Is.EqualTo(137), "SIGKILLed: the runtime had no chance to remove them itself");
            Assert.That(Directory.GetFileSystemEntries(_temporary), Is.Empty);
        });
    }

    // The runtime makes its three files as it starts; they are waited for (bounded), not assumed.
    private async Task<string[]> RuntimeFilesOfAsync(int pid)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            string[] files = [.. Directory.GetFileSystemEntries(_temporary).Select(path => Path.GetFileName(path)).Where(name => name.Contains($"-{pid}-", StringComparison.Ordinal))];
            if (files.Length == 3 || Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(10))
            {
                return files;
            }

            await Task.Delay(20);
        }
    }
}

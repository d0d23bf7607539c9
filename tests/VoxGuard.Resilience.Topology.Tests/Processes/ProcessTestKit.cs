using System.Diagnostics;
using System.Globalization;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Tests.Processes;

/// <summary>
/// A test's scratch root (under /dev/shm when it exists) and everything it started: runs are disposed, processes
/// started by hand are killed, the root is removed, whatever the assertions did.
/// </summary>
internal sealed class Scratch : IAsyncDisposable
{
    private static readonly string Parent = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : "/tmp", "voxguard-resilience-tests");
    private readonly List<RunDirectory> _runs = [];
    private readonly List<Process> _handStarted = [];

    public Scratch()
    {
        Root = Path.Combine(Parent, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public RunDirectory CreateRun(TimeSpan? disposeGrace = null)
    {
        var run = RunDirectory.Create(new RunDirectoryOptions { Root = Root, DisposeGracePeriod = disposeGrace ?? TimeSpan.Zero });
        _runs.Add(run);
        return run;
    }

    /// <summary>Starts a command in its own process group, as a crashed run's server would be; returns once setsid took effect.</summary>
    public async Task<Process> StartDetachedAsync(params string[] command)
    {
        var start = new ProcessStartInfo("/usr/bin/setsid") { UseShellExecute = false };
        foreach (var argument in command)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        _handStarted.Add(process);
        Assert.That(await Proc.EventuallyAsync(() => Proc.Stat(process.Id) is { } stat && stat.Group == process.Id && Proc.Comm(process.Id) != "setsid"),
            Is.True, $"{string.Join(' ', command)} did not lead its own group");
        return process;
    }

    /// <summary>A PID that no longer runs: a process that has exited (and been reaped).</summary>
    public static int DeadPid()
    {
        using var process = Process.Start(new ProcessStartInfo("/bin/true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var run in _runs)
        {
            await run.DisposeAsync();
        }

        foreach (var process in _handStarted)
        {
            if (Proc.Stat(process.Id) is { } stat && stat.Group == process.Id && !process.HasExited)
            {
                // Its group too: a hand-started shell's children.
                using var kill = Process.Start(new ProcessStartInfo("/bin/kill", ["-KILL", "--", $"-{process.Id}"]) { UseShellExecute = false, RedirectStandardError = true })!;
                await kill.WaitForExitAsync();
            }

            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync();
            process.Dispose();
        }

        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }

        if (Directory.Exists(Parent) && !Directory.EnumerateFileSystemEntries(Parent).Any())
        {
            Directory.Delete(Parent);
        }
    }
}

/// <summary>Specs of small real programs standing in for servers.</summary>
internal static class Specs
{
    public static ProcessSpec Sleep(string name = "sleeper") => new(name, "sleep", "coreutils") { Arguments = ["300"] };

    public static ProcessSpec Shell(string name, string script) => new(name, "sh", "dash") { Arguments = ["-c", script] };

    /// <summary>A loopback port nothing listens on (bound and released).</summary>
    public static System.Net.IPEndPoint ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var endPoint = (System.Net.IPEndPoint)listener.LocalEndpoint;
        listener.Stop();
        return endPoint;
    }
}

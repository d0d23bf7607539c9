using System.Diagnostics;
using System.Globalization;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Tests.Processes;

/// <summary>/proc read independently of the code under test, for assertions.</summary>
internal static class Proc
{
    public static string? BootId => Read("/proc/sys/kernel/random/boot_id")?.Trim();

    public static bool IsRoot => Uid(Environment.ProcessId) == 0;

    /// <summary>State (field 3), process group (5), session (6) and start time (22) of /proc/&lt;pid&gt;/stat.</summary>
    public static (char State, int Group, int Session, ulong StartTime)? Stat(int pid)
    {
        var text = Read($"/proc/{pid}/stat");
        if (text is null)
        {
            return null;
        }

        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (fields[0][0], Int(fields[2]), Int(fields[3]), ulong.Parse(fields[19], CultureInfo.InvariantCulture));
    }

    public static ulong StartTime(int pid) => Stat(pid)?.StartTime ?? throw new InvalidOperationException($"pid {pid} is gone");

    /// <summary>Running: present and neither a zombie nor dead (init here does not reap orphans, so zombies stay).</summary>
    public static bool IsRunning(int pid) => Stat(pid) is { State: not ('Z' or 'X') };

    public static List<int> LiveGroupMembers(int group) =>
        [.. Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => name!.All(char.IsAsciiDigit))
            .Select(name => Int(name!))
            .Where(pid => Stat(pid) is { State: not ('Z' or 'X') } stat && stat.Group == group)];

    public static string? Comm(int pid) => Read($"/proc/{pid}/comm")?.Trim();

    public static string Environ(int pid) => Read($"/proc/{pid}/environ") ?? string.Empty;

    public static int? Uid(int pid) => StatusNumber(pid, "Uid:");

    public static int? Gid(int pid) => StatusNumber(pid, "Gid:");

    /// <summary>Polls <paramref name="condition"/> every 5 ms for up to <paramref name="timeout"/> (5 s by default).</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > (timeout ?? TimeSpan.FromSeconds(5)))
            {
                return false;
            }

            await Task.Delay(5);
        }

        return true;
    }

    private static int? StatusNumber(int pid, string key) =>
        Read($"/proc/{pid}/status")?.Split('\n').Where(line => line.StartsWith(key, StringComparison.Ordinal))
            .Select(line => (int?)Int(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1])).FirstOrDefault();

    private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }
}

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

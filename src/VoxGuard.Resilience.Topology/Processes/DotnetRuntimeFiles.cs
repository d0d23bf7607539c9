using System.Globalization;

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>
/// The files a .NET runtime makes in its temporary directory: its diagnostic port
/// (<c>dotnet-diagnostic-&lt;pid&gt;-&lt;start time&gt;-socket</c>, where dotnet-trace and dotnet-counters connect) and the
/// debugger's two pipes (<c>clr-debug-pipe-&lt;pid&gt;-&lt;start time&gt;-in</c> and <c>-out</c>). The runtime removes them
/// when it exits; a process that is SIGKILLed (an engine at its region's loss, a harness ended with kill -9) leaves them
/// for good: this machine's /tmp held 2630 sets after a day of runs. So the harness removes them for every process it
/// started once that process is dead (<see cref="ManagedProcess"/>), and the reaper for the runs it reaps.
/// </summary>
internal static class DotnetRuntimeFiles
{
    /// <summary>The variable the runtime takes its temporary directory from.</summary>
    public const string TemporaryDirectoryVariable = "TMPDIR";

    /// <summary>The runtime's own rule: <c>TMPDIR</c> when set and not empty, else /tmp.</summary>
    public static string TemporaryDirectory(string? tmpdir) => string.IsNullOrEmpty(tmpdir) ? "/tmp" : tmpdir;

    /// <summary>This process's temporary directory (the harness's), which the processes it starts inherit.</summary>
    public static string OfThisProcess => TemporaryDirectory(Environment.GetEnvironmentVariable(TemporaryDirectoryVariable));

    /// <summary>The temporary directory of a process started with <paramref name="spec"/>: its own TMPDIR, else the harness's.</summary>
    public static string TemporaryDirectoryOf(ProcessSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Environment.TryGetValue(TemporaryDirectoryVariable, out var own) ? TemporaryDirectory(own) : OfThisProcess;
    }

    /// <summary>
    /// The three names for the process <paramref name="pid"/> started at <paramref name="startTime"/> (field 22 of
    /// /proc/&lt;pid&gt;/stat, the runtime's key that tells two processes of one PID apart).
    /// </summary>
    public static IReadOnlyList<string> Names(int pid, ulong startTime)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"{pid}-{startTime}");
        return [$"dotnet-diagnostic-{key}-socket", $"clr-debug-pipe-{key}-in", $"clr-debug-pipe-{key}-out"];
    }

    /// <summary>
    /// Removes the files of a dead process from <paramref name="directory"/>, if there are any (a process that is not a
    /// .NET program, or one that exited by itself, has none). The names hold the start time, so no other process's files
    /// are touched. Best effort: a file that cannot be removed is left.
    /// </summary>
    public static void RemoveOf(int pid, ulong startTime, string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (startTime == 0)
        {
            return; // its start time was never read: the names are unknown
        }

        foreach (var name in Names(pid, startTime))
        {
            try
            {
                File.Delete(Path.Combine(directory, name));
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Its directory is gone, or not ours to change.
            }
        }
    }
}

using System.Globalization;

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>
/// A server a supervisor starts in a session of its own, out of reach of the supervisor's process group, that records
/// its PID in the first line of a file in its working directory — PostgreSQL under Patroni (<c>postmaster.pid</c> in
/// its data directory), whose children also call setsid. Killing Patroni's group leaves it running, so a region loss,
/// a teardown and the reaper find it through that file.
/// </summary>
/// <remarks>
/// A PID is trusted only while the process's working directory is still the directory the file is in, so a stale
/// file whose PID was reused by another process is never acted on.
/// </remarks>
internal static class DetachedServer
{
    /// <summary>The server recorded in <paramref name="pidFile"/> and its descendants, or empty when it is not running.</summary>
    public static IReadOnlyList<int> ProcessesOf(string pidFile)
    {
        var leader = LeaderOf(pidFile);
        if (leader is null)
        {
            return [];
        }

        // Descendants too, not only children: a backend's archive_command (sh, then pgbackrest archive-push) must not
        // outlive its server.
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var pid)
                && ProcFs.TryReadStat(pid, out var stat) && !stat.IsGone)
            {
                parents[pid] = stat.ParentPid;
            }
        }

        var processes = new List<int> { leader.Value };
        for (var index = 0; index < processes.Count; index++)
        {
            var parent = processes[index];
            processes.AddRange(parents.Where(pair => pair.Value == parent).Select(pair => pair.Key));
        }

        return processes;
    }

    /// <summary>Sends <paramref name="signal"/> to the server and every child of it; returns how many it reached.</summary>
    public static int Signal(string pidFile, int signal) => ProcessesOf(pidFile).Count(pid => Signals.SendToProcess(pid, signal));

    /// <summary>SIGKILLs the server and its children, then waits (bounded) until the server itself is gone.</summary>
    public static async Task KillAsync(string pidFile, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var leader = LeaderOf(pidFile);
        if (leader is null)
        {
            return;
        }

        Signal(pidFile, Signals.Kill);
        var deadline = DateTime.UtcNow + timeout;
        while (ProcFs.TryReadStat(leader.Value, out var stat) && !stat.IsGone && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The PID files of the detached servers the harness runs: PostgreSQL's.</summary>
    public static IReadOnlyList<string> KnownPidFileNames { get; } = ["postmaster.pid"];

    /// <summary>
    /// SIGKILLs every detached server whose PID file lies one or two directories below <paramref name="runDirectory"/>
    /// (a data directory of the run): for teardown, Ctrl-C and the reaper, before the directory is removed (without its
    /// PID file such a server could no longer be found). Returns how many processes were signalled.
    /// </summary>
    public static int KillEveryOneUnder(string runDirectory)
    {
        if (!Directory.Exists(runDirectory))
        {
            return 0;
        }

        var options = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 1, IgnoreInaccessible = true };
        return KnownPidFileNames.SelectMany(name => Directory.EnumerateFiles(runDirectory, name, options)).Sum(pidFile => Signal(pidFile, Signals.Kill));
    }

    private static int? LeaderOf(string pidFile)
    {
        string? first;
        try
        {
            first = File.ReadLines(pidFile).FirstOrDefault();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        if (!int.TryParse(first?.Trim(), CultureInfo.InvariantCulture, out var pid) || pid <= 1
            || !ProcFs.TryReadStat(pid, out var stat) || stat.IsGone)
        {
            return null;
        }

        try
        {
            var cwd = File.ResolveLinkTarget($"/proc/{pid}/cwd", returnFinalTarget: false)?.FullName;
            var directory = Path.GetDirectoryName(Path.GetFullPath(pidFile));
            return cwd is not null && string.Equals(cwd.TrimEnd('/'), directory?.TrimEnd('/'), StringComparison.Ordinal) ? pid : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

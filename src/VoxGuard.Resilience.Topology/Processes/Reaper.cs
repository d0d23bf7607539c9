using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>
/// Cleans up after runs whose harness died without disposing its <see cref="RunDirectory"/> (kill -9, a crash, a power
/// cut of the VM): kills the servers they left running, removes what the dead .NET runtimes among them (the harness, its
/// engines) left in their temporary directories (<see cref="DotnetRuntimeFiles"/>), and removes the run directories. A
/// process is identified by its PID and its start time (field 22 of /proc/&lt;pid&gt;/stat), so a PID reused by another
/// process is never touched.
/// </summary>
public static class Reaper
{
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);

    // A directory without a readable run.json this young may be a run being created right now.
    private static readonly TimeSpan CreationGrace = TimeSpan.FromMinutes(1);

    /// <inheritdoc cref="ReapAbandonedRuns(string, TimeProvider)"/>
    public static ReapReport ReapAbandonedRuns(string root) => ReapAbandonedRuns(root, TimeProvider.System);

    /// <summary>
    /// For every run directory under <paramref name="root"/> whose harness is gone (its PID is not running, or runs
    /// another process: a different start time or boot), SIGKILLs the process group of every recorded process that is
    /// still the same process (same PID, start time and boot), waits for them to die, and removes the directory. Runs of
    /// a live harness are left alone. Returns what it did.
    /// </summary>
    public static ReapReport ReapAbandonedRuns(string root, TimeProvider timeProvider)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (!Directory.Exists(root))
        {
            return ReapReport.Empty;
        }

        var bootId = ProcFs.BootId;
        var reaped = new List<string>();
        var killed = new List<ReapedProcess>();
        var live = new List<string>();
        var notes = new List<string>();
        var dying = new List<PidRecord>();
        var toRemove = new List<string>();
        var runtimeFiles = new List<(int Pid, ulong StartTime, string? Directory)>();

        string[] directories;
        try
        {
            directories = [.. Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal)];
        }
        catch (DirectoryNotFoundException)
        {
            return ReapReport.Empty; // the last live run removed the root meanwhile
        }

        foreach (var directory in directories)
        {
            var runId = Path.GetFileName(directory);
            var run = RunFiles.TryRead<RunRecord>(Path.Combine(directory, RunFiles.RunFileName));
            if (run is null && !Directory.Exists(directory))
            {
                // Its live owner (another harness process on the same root) removed it after the listing: it finished.
                continue;
            }

            if (run is null)
            {
                if (timeProvider.GetUtcNow() - Directory.GetLastWriteTimeUtc(directory) < CreationGrace)
                {
                    notes.Add($"{runId}: no run.json yet (a run being created?); left alone");
                    continue;
                }

                notes.Add($"{runId}: no readable run.json; treated as abandoned");
            }
            else if (run.BootId == bootId && ProcFs.IsRunning(run.HarnessPid, run.HarnessStartTime))
            {
                live.Add(runId);
                continue;
            }
            else if (run.BootId == bootId)
            {
                runtimeFiles.Add((run.HarnessPid, run.HarnessStartTime, run.TemporaryDirectory));
            }

            var complete = true;
            string[] pidFiles;
            try
            {
                pidFiles = [.. RunFiles.PidFiles(directory)];
            }
            catch (DirectoryNotFoundException)
            {
                continue; // removed by its owner while this reaper looked at it
            }

            foreach (var pidFile in pidFiles)
            {
                var (outcome, record) = KillIfStillOurs(runId, pidFile, bootId, notes);
                if (outcome == Outcome.Killed)
                {
                    killed.Add(new ReapedProcess(runId, record!.Name, record.Pid));
                    dying.Add(record);
                }

                // A process that could not be killed keeps its record, for a reaper with more rights.
                complete &= outcome != Outcome.CannotKill;
                if (outcome != Outcome.CannotKill && record is not null && record.BootId == bootId)
                {
                    runtimeFiles.Add((record.Pid, record.StartTime, record.TemporaryDirectory));
                }
            }

            if (complete)
            {
                // Servers that left their group (PostgreSQL under Patroni) are found by their PID files before the directory goes.
                try
                {
                    DetachedServer.KillEveryOneUnder(directory);
                }
                catch (DirectoryNotFoundException)
                {
                    continue; // removed by its owner meanwhile
                }

                reaped.Add(runId);
                toRemove.Add(directory);
            }
        }

        WaitUntilDead(dying);
        // What a killed .NET runtime left (the harness's own, its engines'): named by PID and start time, so only a
        // process that is no longer running loses them.
        foreach (var (pid, startTime, temporaryDirectory) in runtimeFiles.Where(process => !ProcFs.IsRunning(process.Pid, process.StartTime)))
        {
            DotnetRuntimeFiles.RemoveOf(pid, startTime, DotnetRuntimeFiles.TemporaryDirectory(temporaryDirectory));
        }

        foreach (var directory in toRemove)
        {
            Remove(directory, notes);
        }

        return new ReapReport(reaped, killed, live, notes);
    }

    private enum Outcome
    {
        NothingToKill,
        Killed,
        CannotKill,
    }

    /// <summary>Kills the recorded process's group if it is still that process.</summary>
    private static (Outcome Outcome, PidRecord? Record) KillIfStillOurs(string runId, string pidFile, string? bootId, List<string> notes)
    {
        var record = RunFiles.TryRead<PidRecord>(pidFile);
        if (record is null)
        {
            notes.Add($"{runId}/{Path.GetFileName(pidFile)}: unreadable; nothing killed");
            return (Outcome.NothingToKill, null);
        }

        var label = string.Create(CultureInfo.InvariantCulture, $"{runId}/{record.Name} (pid {record.Pid})");
        if (record.BootId != bootId)
        {
            notes.Add($"{label}: recorded in an earlier boot; nothing to kill");
            return (Outcome.NothingToKill, record);
        }

        if (!ProcFs.TryReadStat(record.Pid, out var stat) || stat.IsGone)
        {
            return (Outcome.NothingToKill, record);
        }

        if (stat.StartTime != record.StartTime || record.Pid == Environment.ProcessId)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"{label}: the PID now belongs to another process (start time {stat.StartTime}, recorded {record.StartTime}); left alone"));
            return (Outcome.NothingToKill, record);
        }

        try
        {
            // setsid made it a group leader; a process recorded before setsid took effect is killed alone.
            _ = stat.ProcessGroup == record.Pid
                ? Signals.SendToGroup(record.Pid, Signals.Kill)
                : Signals.SendToProcess(record.Pid, Signals.Kill);
            return (Outcome.Killed, record);
        }
        catch (Exception exception) when (exception is Win32Exception or ArgumentOutOfRangeException)
        {
            notes.Add($"{label}: cannot be killed ({exception.Message.TrimEnd('.')}); run directory kept");
            return (Outcome.CannotKill, record);
        }
    }

    /// <summary>Waits (bounded) until the killed processes and their groups have died, so their ports are free again.</summary>
    private static void WaitUntilDead(List<PidRecord> dying)
    {
        var started = Stopwatch.GetTimestamp();
        while (dying.Count > 0 && Stopwatch.GetElapsedTime(started) < KillWait)
        {
            dying.RemoveAll(record => !ProcFs.IsRunning(record.Pid, record.StartTime)
                                      && !ProcFs.LiveGroupMembers(record.Pid).Exists(member => member.StartTime >= record.StartTime));
            if (dying.Count > 0)
            {
                Thread.Sleep(5);
            }
        }
    }

    private static void Remove(string directory, List<string> notes)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Another harness reaped it at the same time.
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            notes.Add($"{Path.GetFileName(directory)}: cannot be removed ({exception.Message.TrimEnd('.')})");
        }
    }
}

using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Local;

/// <summary>A topology some live harness process (<c>./resilience up</c>) is serving.</summary>
/// <param name="RunDirectory">Its run directory.</param>
/// <param name="HarnessPid">The process serving it; SIGTERM stops it cleanly.</param>
/// <param name="Record">Which environment it runs.</param>
public sealed record RunningTopology(string RunDirectory, int HarnessPid, TopologyRecord Record)
{
    /// <summary>Its latest status snapshot, or null if none was written yet.</summary>
    public TopologyStatus? LatestStatus => TopologyRecord.TryReadStatus(RunDirectory);

    /// <summary>Asks the serving process to stop everything (SIGTERM; it cleans up as on Ctrl-C).</summary>
    public bool RequestStop() => Signals.SendToProcess(HarnessPid, Signals.Term);

    /// <summary>True while its run directory exists (the harness removes it when it has stopped everything).</summary>
    public bool IsUp => Directory.Exists(RunDirectory);
}

/// <summary>Finds the topologies live harness processes serve, for <c>status</c> and <c>down</c> run from another shell.</summary>
public static class RunningTopologies
{
    /// <summary>Every run under <paramref name="root"/> (default: the standard run root) whose harness is alive and which records a topology.</summary>
    public static IReadOnlyList<RunningTopology> Find(string? root = null)
    {
        root ??= Processes.RunDirectory.DefaultRoot;
        if (!Directory.Exists(root))
        {
            return [];
        }

        var bootId = ProcFs.BootId;
        var found = new List<RunningTopology>();
        foreach (var directory in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            var run = RunFiles.TryRead<RunRecord>(Path.Combine(directory, RunFiles.RunFileName));
            if (run is not null && run.BootId == bootId && ProcFs.IsRunning(run.HarnessPid, run.HarnessStartTime)
                && TopologyRecord.TryRead(directory) is { } record)
            {
                found.Add(new RunningTopology(directory, run.HarnessPid, record));
            }
        }

        return found;
    }
}

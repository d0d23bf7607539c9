namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>What <see cref="Reaper.ReapAbandonedRuns(string)"/> did.</summary>
/// <param name="RunsReaped">The abandoned runs (harness gone) whose directories were removed.</param>
/// <param name="ProcessesKilled">The processes of those runs that were still alive and were killed with their groups.</param>
/// <param name="LiveRunsLeftAlone">Runs whose harness is still running, untouched.</param>
/// <param name="Notes">What was deliberately not done, one line each: a PID file whose process is another one now (PID
/// reused), an unreadable file, a directory that could not be removed.</param>
public sealed record ReapReport(
    IReadOnlyList<string> RunsReaped,
    IReadOnlyList<ReapedProcess> ProcessesKilled,
    IReadOnlyList<string> LiveRunsLeftAlone,
    IReadOnlyList<string> Notes)
{
    /// <summary>Nothing was there to reap.</summary>
    public static ReapReport Empty { get; } = new([], [], [], []);

    /// <inheritdoc/>
    public override string ToString() =>
        RunsReaped.Count == 0
            ? "no abandoned runs"
            : $"reaped {RunsReaped.Count} abandoned run(s) ({string.Join(", ", RunsReaped)}), killed {ProcessesKilled.Count} process(es)"
              + (ProcessesKilled.Count == 0 ? string.Empty : $": {string.Join(", ", ProcessesKilled)}");
}

/// <summary>A process of an abandoned run that the reaper killed (with its process group).</summary>
public sealed record ReapedProcess(string RunId, string Name, int Pid)
{
    /// <inheritdoc/>
    public override string ToString() => $"{RunId}/{Name} (pid {Pid})";
}

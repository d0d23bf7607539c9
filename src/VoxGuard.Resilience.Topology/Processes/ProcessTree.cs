namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>Stopping a program the harness started (not a server of a run: those have <see cref="RunDirectory"/>) with everything it started.</summary>
public static class ProcessTree
{
    /// <summary>
    /// Sends SIGTERM to <paramref name="pid"/> and every live descendant of it; returns how many were signalled. SIGTERM
    /// rather than SIGINT: a program started in the background by a non-interactive shell inherits SIGINT ignored, and
    /// so do its children, while the harness's own processes clean up after SIGTERM as after Ctrl-C (RunDirectory).
    /// </summary>
    public static int Terminate(int pid)
    {
        var signalled = 0;
        foreach (var each in ProcFs.LiveDescendants(pid).Prepend(pid))
        {
            signalled += Signals.SendToProcess(each, Signals.Term) ? 1 : 0;
        }

        return signalled;
    }
}

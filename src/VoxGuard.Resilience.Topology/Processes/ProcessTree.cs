namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>Stopping a program the harness started (not a server of a run: those have <see cref="RunDirectory"/>) with everything it started.</summary>
public static class ProcessTree
{
    /// <summary>
    /// Sends SIGTERM to <paramref name="pid"/> and every live descendant of it in its session — what a terminal's Ctrl-C
    /// would have reached; returns how many were signalled. Servers in sessions of their own are not signalled: the test
    /// host that started them stops them in order (signalled directly as well, a run's PostgreSQL stayed). SIGTERM rather
    /// than SIGINT: a program started in the background by a non-interactive shell inherits SIGINT ignored, and so do its
    /// children, while the harness's processes clean up after SIGTERM as after Ctrl-C (RunDirectory).
    /// </summary>
    public static int Terminate(int pid)
    {
        var signalled = 0;
        foreach (var each in ProcFs.LiveDescendantsInSession(pid).Prepend(pid))
        {
            signalled += Signals.SendToProcess(each, Signals.Term) ? 1 : 0;
        }

        return signalled;
    }
}

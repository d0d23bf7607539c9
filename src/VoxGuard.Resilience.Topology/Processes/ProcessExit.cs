namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>How a managed process ended.</summary>
/// <param name="Name">The process's name in its run (e.g. lagos-redis).</param>
/// <param name="Pid">Its PID while it ran.</param>
/// <param name="ExitCode">Its exit code; 128 + the signal number when a signal ended it (137 after SIGKILL).</param>
/// <param name="ExitedAt">When the harness saw it exit: a monotonic timestamp of the run's <see cref="TimeProvider"/>
/// (<see cref="TimeProvider.GetTimestamp"/>).</param>
/// <param name="SignalledAt">When the harness sent the first SIGTERM or SIGKILL to end it, on the same clock; null when it
/// ended on its own.</param>
public sealed record ProcessExit(string Name, int Pid, int ExitCode, long ExitedAt, long? SignalledAt);

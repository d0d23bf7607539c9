namespace VoxGuard.Resilience.Topology.Backups;

/// <summary>What kind of problem stopped a backup or a restore.</summary>
public enum BackupProblem
{
    /// <summary>The repository holds no backup (of that store) to restore from.</summary>
    NoBackup,

    /// <summary>A stored backup fails its checksum, or the server refuses to load it.</summary>
    Corrupted,

    /// <summary>The repository's server cannot be reached from the region that needs it (down, or its link cut).</summary>
    RepositoryUnreachable,

    /// <summary>The restore's target directory is in use (not empty, or a running server's data directory).</summary>
    TargetInUse,

    /// <summary>The tool failed for another reason (its own message is carried).</summary>
    Failed,
}

/// <summary>
/// A backup or restore could not be done. The message names the store, the repository and what was tried, carries what
/// the tool said (exit code, last lines) and says what to do next.
/// </summary>
public sealed class BackupException : Exception
{
    internal BackupException(BackupProblem problem, string message, int? exitCode = null, IReadOnlyList<string>? outputTail = null, Exception? inner = null)
        : base(message, inner)
    {
        Problem = problem;
        ExitCode = exitCode;
        OutputTail = outputTail ?? [];
    }

    /// <summary>What kind of problem it was.</summary>
    public BackupProblem Problem { get; }

    /// <summary>The tool's exit code, when a tool failed.</summary>
    public int? ExitCode { get; }

    /// <summary>The last lines the tool wrote (stderr, else stdout), oldest first.</summary>
    public IReadOnlyList<string> OutputTail { get; }
}

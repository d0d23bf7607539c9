namespace VoxGuard.Resilience.Cli.Commands;

/// <summary>The CLI's exit codes, so CI can tell a missed target from a broken setup.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>A documented target was missed (the drill ran and measured a failure).</summary>
    public const int TargetMissed = 1;

    /// <summary>The command cannot run: bad input, a missing prerequisite, or not built yet.</summary>
    public const int CannotRun = 2;

    /// <summary>Stopped by Ctrl-C or SIGTERM before its end: no verdict (128 + SIGINT, as shells and run-tests.sh report it).</summary>
    public const int Stopped = 130;
}

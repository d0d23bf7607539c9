namespace VoxGuard.Resilience.Cli.Commands;

/// <summary>The CLI's exit codes, so CI can tell a missed target from a broken setup.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>A documented target was missed (the drill ran and measured a failure).</summary>
    public const int TargetMissed = 1;

    /// <summary>The command cannot run: bad input, a missing prerequisite, or not built yet.</summary>
    public const int CannotRun = 2;
}

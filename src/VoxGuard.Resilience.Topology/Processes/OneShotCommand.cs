using System.Globalization;

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>What a command run to its end said.</summary>
/// <param name="ExitCode">Its exit code (128 + the signal when a signal ended it).</param>
/// <param name="Output">Its last stdout lines (up to 50).</param>
/// <param name="Errors">Its last stderr lines (up to 50).</param>
/// <param name="Elapsed">How long it ran.</param>
internal sealed record CommandResult(int ExitCode, IReadOnlyList<string> Output, IReadOnlyList<string> Errors, TimeSpan Elapsed)
{
    /// <summary>stderr, else stdout: what to quote in a message.</summary>
    public IReadOnlyList<string> Tail => Errors.Count > 0 ? Errors : Output;

    /// <summary>The tail on one line, for messages.</summary>
    public string TailText => string.Join(" | ", Tail.Select(line => line.Trim()).Where(line => line.Length > 0));
}

/// <summary>
/// Runs a command to its end as a process of the run (its own group, a PID file: killed with the run, reapable if the
/// harness dies), under a time limit.
/// </summary>
internal static class OneShotCommand
{
    private static long s_sequence;

    /// <summary>Runs <paramref name="spec"/> (its name gets a sequence number, so runs never clash) and returns what it said.</summary>
    /// <exception cref="TimeoutException">It did not end within <paramref name="timeout"/> (it is killed).</exception>
    public static async Task<CommandResult> RunAsync(RunDirectory run, ProcessSpec spec, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var numbered = new ProcessSpec(string.Create(CultureInfo.InvariantCulture, $"{spec.Name}-{Interlocked.Increment(ref s_sequence)}"), spec.Executable, spec.Package)
        {
            Arguments = spec.Arguments,
            Environment = spec.Environment,
            WorkingDirectory = spec.WorkingDirectory,
            RunAsUser = spec.RunAsUser,
            HostsFile = spec.HostsFile,
            NetworkNamespace = spec.NetworkNamespace,
            KeepsLogFile = false,
        };
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await using var process = await run.StartProcessAsync(numbered, cancellationToken).ConfigureAwait(false);
        ProcessExit exit;
        try
        {
            exit = await process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await process.KillAsync(CancellationToken.None).ConfigureAwait(false);
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture,
                $"{string.Join(' ', spec.Arguments.Prepend(spec.Executable))} did not end within {timeout.TotalSeconds:0} s and was killed. Last lines: {string.Join(" | ", process.StandardErrorTail)}"));
        }

        await process.WhenOutputClosedAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        return new CommandResult(exit.ExitCode, process.StandardOutputTail, process.StandardErrorTail, System.Diagnostics.Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Creates <paramref name="directory"/> (and its parents) owned by <paramref name="user"/>, mode 700.</summary>
    public static async Task CreateDirectoryForAsync(RunDirectory run, string directory, string user, CancellationToken cancellationToken)
    {
        var result = await RunAsync(run, new ProcessSpec("install-dir", "install", "coreutils")
        {
            Arguments = ["-d", "-o", user, "-g", user, "-m", "700", directory],
        }, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"Could not create {directory} for user {user}: {result.TailText}");
        }
    }

    /// <summary>Gives <paramref name="path"/> (recursively) to <paramref name="user"/>.</summary>
    public static async Task ChownAsync(RunDirectory run, string path, string user, CancellationToken cancellationToken)
    {
        var result = await RunAsync(run, new ProcessSpec("chown", "chown", "coreutils")
        {
            Arguments = ["-R", $"{user}:{user}", path],
        }, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"Could not give {path} to user {user}: {result.TailText}");
        }
    }
}

using System.ComponentModel;
using System.Diagnostics;

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>
/// One server of a run, started by <see cref="RunDirectory.StartProcessAsync"/> in its own session and process group
/// (setsid, which execs without forking), so that <see cref="Pid"/> is the server's own PID and every signal reaches the
/// server and all of its children. Its stdout and stderr are read continuously: every line goes to its log file in the
/// run directory (<see cref="ServerLog"/>, unless its spec says not), and the last 50 of each stream are kept in memory
/// for error messages. Disposing it kills its process group.
/// </summary>
public sealed class ManagedProcess : IAsyncDisposable
{
    private const int TailCapacity = 50;

    // Mechanics (how long SIGKILL may take, how often /proc is polled) run on the real clock: a fake TimeProvider
    // must not stall a kill.
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);
    // A state change (stopped, continued, its own group) takes milliseconds; on a starved host a process sat in state D
    // (uninterruptible) for more than 5 s before SIGSTOP could take it.
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(2);

    private readonly Process _process;
    private readonly TimeProvider _time;
    private readonly OutputTail _stdout = new(TailCapacity);
    private readonly OutputTail _stderr = new(TailCapacity);
    private readonly TaskCompletionSource<ProcessExit> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _exited = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(string Text, TaskCompletionSource Seen)> _outputWatchers = [];
    private readonly Lock _gate = new();
    private readonly ServerLog? _log;
    private long? _signalledAt;
    private ulong _exitTicks = ulong.MaxValue;
    private int _disposed;

    private ManagedProcess(ProcessSpec spec, ProcessStartInfo startInfo, IReadOnlyList<string> commandLine, TimeProvider time, ServerLog? log)
    {
        Spec = spec;
        _log = log;
        CommandLine = commandLine;
        TemporaryDirectory = DotnetRuntimeFiles.TemporaryDirectoryOf(spec);
        _time = time;
        _process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, line) => OnLine(line.Data, "out", _stdout, _stdoutClosed);
        _process.ErrorDataReceived += (_, line) => OnLine(line.Data, "err", _stderr, _stderrClosed);
        _process.Exited += (_, _) => OnExited();
    }

    /// <summary>What was started.</summary>
    public ProcessSpec Spec { get; }

    /// <summary>The process's name in its run (e.g. lagos-redis).</summary>
    public string Name => Spec.Name;

    /// <summary>The server's PID, which is also its process group and session id.</summary>
    public int Pid { get; private set; }

    /// <summary>Field 22 of /proc/&lt;pid&gt;/stat: with <see cref="Pid"/>, what identifies this process in its PID file.</summary>
    public ulong StartTime { get; private set; }

    /// <summary>Its temporary directory: where a .NET program's runtime keeps the files removed when it dies (<see cref="DotnetRuntimeFiles"/>).</summary>
    internal string TemporaryDirectory { get; }

    /// <summary>What was executed: setsid, setpriv when it runs as another user, then the server and its arguments.</summary>
    public IReadOnlyList<string> CommandLine { get; }

    /// <summary>True once the server's main process has exited (for any reason, including a signal from outside).</summary>
    public bool HasExited => _exit.Task.IsCompleted;

    /// <summary>Its exit code once it has exited (128 + the signal when a signal ended it); null while it runs.</summary>
    public int? ExitCode => _exit.Task.IsCompletedSuccessfully ? _exit.Task.Result.ExitCode : null;

    /// <summary>True while the main process is stopped (state T in /proc/&lt;pid&gt;/stat), e.g. after <see cref="PauseAsync"/>.</summary>
    public bool IsPaused => !HasExited && ProcFs.TryReadStat(Pid, out var stat) && stat.IsStopped;

    /// <summary>The last lines (up to 50) it wrote to stdout, oldest first.</summary>
    public IReadOnlyList<string> StandardOutputTail => _stdout.Snapshot();

    /// <summary>The last lines (up to 50) it wrote to stderr, oldest first.</summary>
    public IReadOnlyList<string> StandardErrorTail => _stderr.Snapshot();

    /// <summary>Cancelled when the main process exits: readiness waits watch it to fail at once.</summary>
    internal CancellationToken ExitedToken => _exited.Token;

    /// <summary>
    /// SIGKILLs the whole process group and returns once the server has exited and no process of its group still runs.
    /// Returns the earlier exit when it had already exited (and kills what it left running).
    /// </summary>
    public async Task<ProcessExit> KillAsync(CancellationToken cancellationToken = default)
    {
        if (!HasExited)
        {
            MarkSignalled();
            SignalGroup(Signals.Kill);
        }

        var exit = await WaitForExitAsync(ExitTimeout, "SIGKILL", cancellationToken).ConfigureAwait(false);
        await SettleGroupAsync(TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        return exit;
    }

    /// <summary>
    /// SIGTERMs the whole process group (and SIGCONTs it, so a paused server can act on it), gives it
    /// <paramref name="gracePeriod"/> to exit, then SIGKILLs whatever of the group still runs. Returns once all of it is gone.
    /// </summary>
    public async Task<ProcessExit> StopAsync(TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gracePeriod, TimeSpan.Zero);
        var started = Stopwatch.GetTimestamp();
        if (!HasExited)
        {
            MarkSignalled();
            SignalGroup(Signals.Term);
            SignalGroup(Signals.Cont);
            try
            {
                await _exit.Task.WaitAsync(gracePeriod, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                SignalGroup(Signals.Kill);
            }
        }

        var exit = await WaitForExitAsync(ExitTimeout, "SIGKILL", cancellationToken).ConfigureAwait(false);
        var left = gracePeriod - Stopwatch.GetElapsedTime(started);
        await SettleGroupAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        return exit;
    }

    /// <summary>
    /// SIGSTOPs the whole process group; returns once every process of it is in state T, or held in the kernel with the
    /// SIGSTOP pending (a shell waiting on a vforked child the signal stopped before its exec: it runs nothing more).
    /// </summary>
    public async Task PauseAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfExited("pause");
        SignalGroup(Signals.Stop);
        await WaitForGroupAsync(stopped: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>SIGCONTs the whole process group; returns once no process of it is in state T any more.</summary>
    public async Task ResumeAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfExited("resume");
        SignalGroup(Signals.Cont);
        await WaitForGroupAsync(stopped: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until the server has exited, however long that takes.</summary>
    public Task<ProcessExit> WaitForExitAsync(CancellationToken cancellationToken = default) =>
        _exit.Task.WaitAsync(cancellationToken);

    /// <summary>
    /// Waits until <paramref name="strategy"/> holds; fails at once with a <see cref="ServerProcessException"/> (exit code
    /// and last stderr lines) if the server exits first, or when the strategy times out.
    /// </summary>
    public Task WaitUntilReadyAsync(WaitStrategy strategy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        return strategy.WaitAsync(this, cancellationToken);
    }

    /// <summary>Kills the process group (if it still runs) and releases the process handle. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await KillAsync().ConfigureAwait(false);
        }
        finally
        {
            _process.Dispose();
            // Lines still in flight are dropped: a child that left the group (PostgreSQL under Patroni) may hold the
            // pipes for as long as it lives, and nothing waits on it.
            _log?.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} (pid {Pid})";

    internal static ManagedProcess Start(ProcessSpec spec, string executable, ProcessStartInfo startInfo, IReadOnlyList<string> commandLine, TimeProvider time,
        string runDirectory)
    {
        var managed = new ManagedProcess(spec, startInfo, commandLine, time, spec.KeepsLogFile ? ServerLog.Open(runDirectory, spec.Name) : null);
        try
        {
            managed._process.Start();
        }
        catch (Exception exception) when (exception is Win32Exception or InvalidOperationException)
        {
            managed._process.Dispose();
            managed._log?.Dispose();
            throw ServerProcessException.StartFailed(spec, executable, exception);
        }

        managed.Pid = managed._process.Id;
        managed.StartTime = ProcFs.TryReadStat(managed.Pid, out var stat) ? stat.StartTime : 0;
        managed._process.StandardInput.Close();
        managed._process.BeginOutputReadLine();
        managed._process.BeginErrorReadLine();
        return managed;
    }

    /// <summary>
    /// Waits until setsid has made the process its own group leader and it has exec'd past the wrappers, so that
    /// <see cref="Pid"/> is the server itself and group signals reach all of it. Returns early if it exits.
    /// </summary>
    internal async Task WaitUntilLaunchedAsync(IReadOnlySet<string> wrappers, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (!HasExited)
        {
            if (!ProcFs.TryReadStat(Pid, out var stat) || stat.IsGone)
            {
                return;
            }

            if (stat.ProcessGroup == Pid && stat.Session == Pid)
            {
                // An unreadable /proc/<pid>/exe cannot show a wrapper either.
                var executable = ProcFs.Executable(Pid);
                if (executable is null || !wrappers.Contains(executable))
                {
                    return;
                }
            }

            if (Stopwatch.GetElapsedTime(started) > StateTimeout)
            {
                throw ServerProcessException.NoProcessGroup(this, StateTimeout);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Completes when a line containing <paramref name="text"/> is among the kept lines or is written later.</summary>
    internal Task WhenOutputContains(string text)
    {
        lock (_gate)
        {
            if (_stdout.Contains(text) || _stderr.Contains(text))
            {
                return Task.CompletedTask;
            }

            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _outputWatchers.Add((text, seen));
            return seen.Task;
        }
    }

    /// <summary>Waits (bounded) until both output streams are closed, so that the tails hold the last lines.</summary>
    internal async Task WhenOutputClosedAsync(TimeSpan timeout)
    {
        try
        {
            await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A child of the server still holds the pipes; the tails are what arrived so far.
        }
    }

    /// <summary>The stderr tail, or the stdout tail when stderr is empty.</summary>
    internal IReadOnlyList<string> ErrorTail()
    {
        var stderr = _stderr.Snapshot();
        return stderr.Length > 0 ? stderr : _stdout.Snapshot();
    }

    /// <summary>SIGKILLs the group without waiting: for the harness's own exit, when nothing may be awaited.</summary>
    internal void KillGroupNow()
    {
        if (HasExited)
        {
            return;
        }

        try
        {
            MarkSignalled();
            _ = Signals.SendToGroupOrProcess(Pid, Signals.Kill);
            // Its exit will not be seen (the harness is ending); SIGKILL cannot be caught, so its files can go now.
            DotnetRuntimeFiles.RemoveOf(Pid, StartTime, TemporaryDirectory);
        }
        catch (Exception exception) when (exception is Win32Exception or ArgumentOutOfRangeException)
        {
            // Best effort while the harness exits; the next run's reaper will find it.
        }
    }

    private void OnLine(string? line, string stream, OutputTail tail, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            if (_stdoutClosed.Task.IsCompleted && _stderrClosed.Task.IsCompleted)
            {
                _log?.Dispose();
            }

            return;
        }

        _log?.Write(DateTimeOffset.UtcNow, stream, line);
        tail.Add(line);
        List<TaskCompletionSource>? seen = null;
        lock (_gate)
        {
            for (var index = _outputWatchers.Count - 1; index >= 0; index--)
            {
                if (line.Contains(_outputWatchers[index].Text, StringComparison.Ordinal))
                {
                    (seen ??= []).Add(_outputWatchers[index].Seen);
                    _outputWatchers.RemoveAt(index);
                }
            }
        }

        seen?.ForEach(watcher => watcher.TrySetResult());
    }

    private void OnExited()
    {
        var exitedAt = _time.GetTimestamp();
        _exitTicks = ProcFs.UptimeTicks();
        int code;
        try
        {
            code = _process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            code = -1;
        }

        long? signalledAt;
        lock (_gate)
        {
            signalledAt = _signalledAt;
        }

        DotnetRuntimeFiles.RemoveOf(_process.Id, StartTime, TemporaryDirectory);
        _exit.TrySetResult(new ProcessExit(Name, _process.Id, code, exitedAt, signalledAt));
        _exited.Cancel();
    }

    private void MarkSignalled()
    {
        lock (_gate)
        {
            _signalledAt ??= _time.GetTimestamp();
        }
    }

    private void SignalGroup(int signal)
    {
        try
        {
            _ = Signals.SendToGroupOrProcess(Pid, signal);
        }
        catch (Win32Exception exception)
        {
            throw ServerProcessException.SignalFailed(this, signal, exception);
        }
    }

    private void ThrowIfExited(string operation)
    {
        if (HasExited)
        {
            throw ServerProcessException.NotRunning(this, operation);
        }
    }

    private async Task<ProcessExit> WaitForExitAsync(TimeSpan timeout, string after, CancellationToken cancellationToken)
    {
        try
        {
            return await _exit.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw ServerProcessException.DidNotExit(this, after, timeout, StateText([Pid]));
        }
    }

    /// <summary>
    /// Processes of its group that still run after the main process exited: given <paramref name="patience"/> to end on
    /// their own, then SIGKILLed. Only processes started before the exit count: the group id cannot have been reused while
    /// one of them lived.
    /// </summary>
    private async Task SettleGroupAsync(TimeSpan patience, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var killed = false;
        while (true)
        {
            var stragglers = ProcFs.LiveGroupMembers(Pid).FindAll(member => member.StartTime >= StartTime && member.StartTime <= _exitTicks);
            if (stragglers.Count == 0)
            {
                return;
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            if (!killed && elapsed >= patience)
            {
                killed = true;
                started = Stopwatch.GetTimestamp();
                SignalGroup(Signals.Kill);
            }
            else if (killed && elapsed >= ExitTimeout)
            {
                throw ServerProcessException.DidNotExit(this, "SIGKILL to its process group", ExitTimeout, StateText(stragglers.Select(member => member.Pid)));
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WaitForGroupAsync(bool stopped, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            ThrowIfExited(stopped ? "pause" : "resume");
            var members = ProcFs.LiveGroupMembers(Pid);
            if (members.Count > 0 && members.TrueForAll(member => stopped ? IsStoppedOrStopping(member) : !member.IsStopped))
            {
                return;
            }

            if (Stopwatch.GetElapsedTime(started) > StateTimeout)
            {
                throw ServerProcessException.StateNotReached(this, stopped ? "the stopped state (T)" : "a running state (not T)", StateTimeout,
                    StateText(ProcFs.GroupMembers(Pid).Select(member => member.Pid)));
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stopped (T), or held in the kernel (D) with the SIGSTOP pending: it stops the moment it leaves the kernel, and runs
    /// no code of its own before. A shell that vforked a command whose child the SIGSTOP caught before its exec waits in
    /// D until that child runs again — it never reaches T while paused (a fresh-clone suite: a pause timed out after 15 s
    /// on "pid … in state D, pid … in state T"; reproduced 59 times in 3000 SIGSTOPs of a `while :; do sleep 0.01; done`
    /// shell).
    /// </summary>
    private static bool IsStoppedOrStopping(ProcStat member) => member.IsStopped || (member.State == 'D' && ProcFs.HasStopPending(member.Pid));

    private static string StateText(IEnumerable<int> pids) =>
        string.Join(", ", pids.Select(pid => ProcFs.TryReadStat(pid, out var stat) ? $"pid {pid} in state {stat.State}" : $"pid {pid} gone"));
}

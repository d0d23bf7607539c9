using System.Globalization;
using System.Net;
using System.Net.Sockets;
using VoxGuard.Resilience.Topology.Environments;

using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>
/// Readiness: conditions polled in order, each with its own timeout and poll interval, e.g.
/// <c>WaitStrategy.UntilOutputContains("Ready to accept").And(WaitStrategy.UntilTcpPortOpen(endPoint))</c>. Waiting for a
/// <see cref="ManagedProcess"/> fails at once (not at the timeout) when it exits, with its exit code and last stderr lines.
/// A timeout names what was awaited, for how long, and the last probe error. Immutable: the <c>With…</c> and
/// <see cref="And"/> methods return new strategies.
/// </summary>
public sealed class WaitStrategy
{
    private readonly IReadOnlyList<Condition> _conditions;
    private readonly TimeProvider _time;

    private WaitStrategy(IReadOnlyList<Condition> conditions, TimeProvider time)
    {
        _conditions = conditions;
        _time = time;
    }

    /// <summary>How long one condition may take unless <see cref="WithTimeout"/> says otherwise: 30 s.</summary>
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(30);

    /// <summary>The pause between two probes of a condition unless <see cref="WithInterval"/> says otherwise: 50 ms.</summary>
    public static TimeSpan DefaultInterval { get; } = TimeSpan.FromMilliseconds(50);

    /// <summary>What is awaited, in order (e.g. "TCP port 127.0.1.3:6379 to open").</summary>
    public string What => string.Join(", then ", _conditions.Select(condition => condition.What));

    /// <summary>The longest the whole wait can take: the sum of the conditions' timeouts.</summary>
    public TimeSpan Timeout => _conditions.Aggregate(TimeSpan.Zero, (sum, condition) => sum + condition.Timeout);

    /// <summary>
    /// Until <paramref name="probe"/> returns true. A probe that throws counts as "not yet" (its message is reported on
    /// timeout); it should honour the token, which is cancelled at the timeout and when the watched process exits.
    /// </summary>
    /// <param name="what">What is awaited, read after "waiting for" (e.g. "the primary to accept writes").</param>
    /// <param name="probe">Returns true once ready.</param>
    public static WaitStrategy Until(string what, Func<CancellationToken, Task<bool>> probe)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(what);
        ArgumentNullException.ThrowIfNull(probe);
        return Single(what, needsProcess: false, _ => probe);
    }

    /// <summary>
    /// Until a TCP connection to <paramref name="endPoint"/> succeeds (it is closed at once). Only where the network rule
    /// (<see cref="NetworkRule"/>) admits: 127.0.0.0/8, or a network the harness made.
    /// </summary>
    public static WaitStrategy UntilTcpPortOpen(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (!NetworkRule.Admits(endPoint.Address))
        {
            throw new ArgumentException(
                $"Readiness checks only connect to {NetworkRule.Describe()}; {endPoint} is not one of them.",
                nameof(endPoint));
        }

        return Single($"TCP port {endPoint} to open", needsProcess: false, _ => cancellationToken => ConnectAsync(endPoint, cancellationToken));
    }

    /// <summary>Until the watched process writes a line containing <paramref name="text"/> to stdout or stderr (a line still
    /// among its last 50 counts too). Only for <see cref="ManagedProcess.WaitUntilReadyAsync"/>.</summary>
    public static WaitStrategy UntilOutputContains(string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        return Single($"output \"{text}\"", needsProcess: true, process =>
        {
            var seen = process!.WhenOutputContains(text);
            return _ => Task.FromResult(seen.IsCompleted);
        });
    }

    /// <summary>Until <paramref name="path"/> exists (a PID file, a unix socket).</summary>
    public static WaitStrategy UntilFileExists(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Single($"{path} to exist", needsProcess: false, _ => _ => Task.FromResult(File.Exists(path) || Directory.Exists(path)));
    }

    /// <summary>
    /// Waits until <paramref name="probe"/> returns true, polling every <paramref name="interval"/> for at most
    /// <paramref name="timeout"/>; with <paramref name="watched"/>, fails at once if that process exits.
    /// </summary>
    /// <exception cref="ServerProcessException">The watched process exited, or did not get ready in time.</exception>
    /// <exception cref="TimeoutException">Not ready in time, with no process watched.</exception>
    public static Task UntilAsync(Func<CancellationToken, Task<bool>> probe, TimeSpan timeout, TimeSpan interval, string what,
        ManagedProcess? watched = null, CancellationToken cancellationToken = default) =>
        Until(what, probe).WithTimeout(timeout).WithInterval(interval).WaitCoreAsync(watched, cancellationToken);

    /// <summary>Waits until a TCP connection to <paramref name="endPoint"/> (127.0.0.0/8) succeeds; see <see cref="UntilAsync"/>.</summary>
    public static Task UntilTcpPortOpenAsync(IPEndPoint endPoint, TimeSpan timeout, ManagedProcess? watched = null,
        CancellationToken cancellationToken = default) =>
        UntilTcpPortOpen(endPoint).WithTimeout(timeout).WaitCoreAsync(watched, cancellationToken);

    /// <summary>This strategy's conditions, then <paramref name="next"/>'s.</summary>
    public WaitStrategy And(WaitStrategy next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return new WaitStrategy([.. _conditions, .. next._conditions], _time);
    }

    /// <summary>Sets the timeout of every condition of this strategy (default <see cref="DefaultTimeout"/>).</summary>
    public WaitStrategy WithTimeout(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        return new WaitStrategy([.. _conditions.Select(condition => condition with { Timeout = timeout })], _time);
    }

    /// <summary>Sets the poll interval of every condition of this strategy (default <see cref="DefaultInterval"/>).</summary>
    public WaitStrategy WithInterval(TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        return new WaitStrategy([.. _conditions.Select(condition => condition with { Interval = interval })], _time);
    }

    /// <summary>The clock for timeouts and intervals (default <see cref="TimeProvider.System"/>).</summary>
    public WaitStrategy WithTimeProvider(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return new WaitStrategy(_conditions, timeProvider);
    }

    /// <summary>Waits with no process to watch.</summary>
    /// <exception cref="TimeoutException">A condition did not hold in time; the message says which, and for how long.</exception>
    public Task WaitAsync(CancellationToken cancellationToken = default) => WaitCoreAsync(null, cancellationToken);

    /// <summary>Waits while watching <paramref name="watched"/>: if it exits first, fails at once.</summary>
    /// <exception cref="ServerProcessException">It exited, or a condition did not hold in time.</exception>
    public Task WaitAsync(ManagedProcess watched, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(watched);
        return WaitCoreAsync(watched, cancellationToken);
    }

    /// <inheritdoc/>
    public override string ToString() => What;

    private static WaitStrategy Single(string what, bool needsProcess, Func<ManagedProcess?, Func<CancellationToken, Task<bool>>> bind) =>
        new([new Condition(what, needsProcess, bind, DefaultTimeout, DefaultInterval)], TimeProvider.System);

    private static async Task<bool> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private async Task WaitCoreAsync(ManagedProcess? watched, CancellationToken cancellationToken)
    {
        if (watched is null && _conditions.FirstOrDefault(condition => condition.NeedsProcess) is { } needy)
        {
            throw new InvalidOperationException($"Waiting for {needy.What} needs a process: use ManagedProcess.WaitUntilReadyAsync.");
        }

        foreach (var condition in _conditions)
        {
            await WaitForAsync(condition, watched, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WaitForAsync(Condition condition, ManagedProcess? watched, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        using var deadline = new CancellationTokenSource(condition.Timeout, _time);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token, watched?.ExitedToken ?? CancellationToken.None);
        var probe = condition.Bind(watched);
        var attempts = 0;
        string? lastProblem = null;
        while (!stop.IsCancellationRequested)
        {
            attempts++;
            try
            {
                if (await probe(stop.Token).ConfigureAwait(false))
                {
                    if (watched is not { HasExited: true })
                    {
                        return;
                    }

                    break;
                }

                lastProblem = null;
            }
            catch (Exception exception) when (!stop.IsCancellationRequested)
            {
                lastProblem = exception.Message;
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                break;
            }

            try
            {
                await Task.Delay(condition.Interval, _time, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var waited = _time.GetElapsedTime(started);
        if (watched is { HasExited: true })
        {
            await watched.WhenOutputClosedAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            throw ServerProcessException.ExitedDuringWait(watched, condition.What, waited);
        }

        if (watched is not null)
        {
            throw ServerProcessException.NotReady(watched, condition.What, condition.Timeout, attempts, lastProblem);
        }

        var last = lastProblem is null ? string.Empty : $"; last: {lastProblem.TrimEnd('.')}";
        throw new TimeoutException(string.Create(CultureInfo.InvariantCulture,
            $"Timed out after {DurationText.Format(condition.Timeout)} waiting for {condition.What} ({attempts} {(attempts == 1 ? "attempt" : "attempts")}{last})."));
    }

    private sealed record Condition(
        string What,
        bool NeedsProcess,
        Func<ManagedProcess?, Func<CancellationToken, Task<bool>>> Bind,
        TimeSpan Timeout,
        TimeSpan Interval);
}

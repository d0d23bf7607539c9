namespace VoxGuard.Resilience.Topology.Local;

/// <summary>
/// Writes a served topology's status.json (what <c>./resilience status</c> prints): every interval, and at once when
/// asked (after a control request). One write at a time: the record's temporary file is shared.
/// </summary>
public sealed class StatusSnapshots(LocalTopology topology) : IDisposable
{
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private string? _lastFailure;

    /// <summary>Takes a snapshot now and writes it.</summary>
    public async Task WriteAsync(CancellationToken cancellationToken = default)
    {
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            TopologyRecord.WriteStatus(topology.Run, await topology.StatusAsync(cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>
    /// Writes a snapshot every <paramref name="interval"/> until <paramref name="cancellationToken"/> is cancelled; a
    /// failed snapshot (a server mid-fault not answering) is told to <paramref name="reportFailure"/> once (until one
    /// succeeds again) and retried next time.
    /// </summary>
    public async Task RefreshUntilCancelledAsync(TimeSpan interval, Action<string> reportFailure, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reportFailure);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                await WriteAsync(cancellationToken).ConfigureAwait(false);
                _lastFailure = null;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // The topology is what is being served; a status snapshot that fails must not stop it.
                if (exception.Message != _lastFailure)
                {
                    _lastFailure = exception.Message;
                    reportFailure(exception.Message);
                }
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _oneAtATime.Dispose();
}

using VoxGuard.Resilience.Sip.Messages;
using VoxGuard.Resilience.Sip.Transports;

namespace VoxGuard.Resilience.Sip.Transactions;

/// <summary>
/// A server transaction (RFC 3261 17.2): INVITE (100 Trying at once unless the TU already responded; the final
/// retransmitted on UDP with Timer G until the ACK, Timer H = 64·T1 gives up; Timer I absorbs ACK retransmissions) or
/// non-INVITE (request retransmissions answered with the last response; Timer J). A CANCEL that matches an unanswered
/// INVITE ends it with 487 (see <see cref="Cancelled"/>).
/// </summary>
/// <remarks>
/// A completed transaction keeps only what answering retransmissions needs (its key and its last response's bytes), not
/// the request (see <see cref="Request"/>): over UDP a BYE's transaction lives on for Timer J (32 s), and an engine at
/// 560 calls a second held ~18 000 of them, each with its parsed request (~3.5 KB of strings, dictionaries and Vias),
/// all promoted to the oldest generation before they died (docs/measured-facts.md, "Server transactions held after the
/// call").
/// </remarks>
public sealed class SipServerTransaction
{
    private readonly SipTransactionLayer _layer;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource? _cancelled;
    // Continuations run where the ACK or the timer completes it (see Acknowledged): no hop through the thread pool.
    private readonly TaskCompletionSource<bool> _acknowledged = new();
    private byte[]? _lastResponse;
    private ITimer? _retransmit;
    private ITimer? _timeout;
    private TimeSpan _interval;
    private bool _final;
    private bool _terminated;
    private SipRequest? _request;

    internal SipServerTransaction(SipTransactionLayer layer, SipRequest request, SipChannel channel)
    {
        _layer = layer;
        _request = request;
        Channel = channel;
        Key = request.TransactionKey;
        IsInvite = request.Method == SipMethods.Invite;
        _cancelled = IsInvite ? new CancellationTokenSource() : null;
    }

    /// <summary>
    /// The request, until the transaction completed: a non-INVITE's once its final response was sent, an INVITE's once
    /// its ACK came. Then only the last response is kept, to answer retransmissions.
    /// </summary>
    /// <exception cref="InvalidOperationException">Read after the transaction completed.</exception>
    public SipRequest Request => _request
        ?? throw new InvalidOperationException($"The request of transaction {Key} was released when the transaction completed; read what you need of it before responding.");

    /// <summary>Where it came from; responses go back this way.</summary>
    public SipChannel Channel { get; }

    /// <summary>Branch and method.</summary>
    public string Key { get; }

    /// <summary>True for an INVITE transaction.</summary>
    public bool IsInvite { get; }

    /// <summary>Signalled when a CANCEL ended this INVITE before its final response (the 487 has been sent); never for a non-INVITE.</summary>
    public CancellationToken Cancelled => _cancelled?.Token ?? CancellationToken.None;

    /// <summary>For an INVITE answered 2xx: the key its ACK is matched by (Call-ID, CSeq number, From tag), kept after the request is released.</summary>
    internal string? AckKey { get; private set; }

    /// <summary>The status code of the final response sent, or null while there is none.</summary>
    public int? FinalStatus { get; private set; }

    /// <summary>
    /// INVITE: true once the ACK for the final response arrived, false when Timer H (64·T1) fired first or the
    /// connection closed. Non-INVITE: true once a final response was sent.
    /// </summary>
    /// <remarks>
    /// Its continuations run synchronously on the thread that completed it (the transport's receive loop, a timer, the
    /// responder), never under the transaction's lock: keep what follows an <c>await</c> on it short, or leave that
    /// thread first. The UAS only counts the outcome there; handing it to the thread pool instead cost each answered
    /// call one more work item (a wake, a yield and a context switch) in the engines.
    /// </remarks>
    public Task<bool> Acknowledged => _acknowledged.Task;

    /// <summary>
    /// Sends a response: provisional ones while no final was sent; the first final ends the transaction's TU part
    /// (later ones are ignored and return false).
    /// </summary>
    public async ValueTask<bool> RespondAsync(SipResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var bytes = response.ToBytes();
        lock (_gate)
        {
            if (_final || _terminated)
            {
                return false;
            }

            _lastResponse = bytes;
            if (!response.IsProvisional)
            {
                _final = true;
                FinalStatus = response.StatusCode;
                StartCompletedTimers(response);
                if (!IsInvite)
                {
                    _request = null;
                }
            }
        }

        if (!response.IsProvisional && !IsInvite)
        {
            if (Channel.IsReliable)
            {
                // Timer J is zero on a reliable transport: done now, without a timer's round trip through the thread pool.
                Terminate(acknowledged: true);
            }

            _acknowledged.TrySetResult(true);
        }

        try
        {
            await Channel.SendAsync(bytes).ConfigureAwait(false);
            return true;
        }
        catch (SipTransportException)
        {
            if (!response.IsProvisional)
            {
                Terminate(acknowledged: false);
            }

            return false;
        }
    }

    /// <summary>Creates the response to this request (see <see cref="SipMessageFactory.CreateResponse(SipRequest, int, string?, string?)"/>).</summary>
    public SipResponse CreateResponse(int statusCode, string? reasonPhrase = null, string? toTag = null) =>
        SipMessageFactory.CreateResponse(Request, statusCode, reasonPhrase, toTag);

    internal void OnRetransmittedRequest()
    {
        byte[]? last;
        lock (_gate)
        {
            last = _lastResponse;
        }

        if (last is not null)
        {
            _layer.SendQuietly(Channel, last);
        }
    }

    internal void OnAck()
    {
        lock (_gate)
        {
            if (!_final || _terminated || _acknowledged.Task.IsCompleted)
            {
                return;
            }

            _retransmit?.Dispose();
            _retransmit = null;
            _timeout?.Dispose();
            _timeout = null;
            _request = null;
        }

        if (Channel.IsReliable)
        {
            Terminate(acknowledged: true);
        }
        else
        {
            // Timer I: absorb ACK retransmissions for T4 on UDP (zero on TCP).
            _layer.ExpireAfter(this, _layer.Options.T4);
        }

        _acknowledged.TrySetResult(true);
    }

    /// <summary>A matching CANCEL: 487 if no final was sent. Returns false when the INVITE was already answered.</summary>
    internal async ValueTask<bool> CancelAsync()
    {
        lock (_gate)
        {
            if (_final || _terminated)
            {
                return false;
            }
        }

        var sent = await RespondAsync(CreateResponse(SipStatus.RequestTerminated, toTag: SipIds.NewTag())).ConfigureAwait(false);
        if (sent && _cancelled is not null)
        {
            await _cancelled.CancelAsync().ConfigureAwait(false);
        }

        return sent;
    }

    internal void OnTransportClosed() => Terminate(acknowledged: false);

    internal void StartInvite()
    {
        // 100 Trying unless the TU already answered or rang (RFC 3261 17.2.1: it need not be sent when a provisional
        // or final response comes within 200 ms); the engines ring at once, which saved each call a datagram through
        // the region's one Kamailio UDP worker. Timer H before a final response exists would be wrong: only the 100.
        byte[] trying;
        lock (_gate)
        {
            if (_lastResponse is not null || _terminated)
            {
                return;
            }

            trying = _lastResponse = CreateResponse(SipStatus.Trying).ToBytes();
        }

        _layer.SendQuietly(Channel, trying);
    }

    private void StartCompletedTimers(SipResponse response)
    {
        var options = _layer.Options;
        if (IsInvite)
        {
            if (!Channel.IsReliable)
            {
                _interval = options.T1;
                _retransmit = options.TimeProvider.CreateTimer(static state => ((SipServerTransaction)state!).Retransmit(), this, _interval, Timeout.InfiniteTimeSpan);
            }

            if (response.IsSuccess)
            {
                AckKey = SipTransactionLayer.AckKeyOf(Request);
                _layer.ExpectAck(this);
            }

            _timeout = options.TimeProvider.CreateTimer(static state => ((SipServerTransaction)state!).Terminate(acknowledged: false), this,
                options.TransactionTimeout, Timeout.InfiniteTimeSpan);
        }
        else if (!Channel.IsReliable)
        {
            // Timer J: absorb request retransmissions for 64·T1 on UDP (zero on TCP: RespondAsync terminates it).
            _layer.ExpireAfter(this, options.TransactionTimeout);
        }
    }

    private void Retransmit()
    {
        byte[]? last;
        lock (_gate)
        {
            if (_terminated || _retransmit is null || _acknowledged.Task.IsCompleted)
            {
                return;
            }

            _interval = TimeSpan.FromTicks(Math.Min((_interval * 2).Ticks, _layer.Options.T2.Ticks));
            _retransmit.Change(_interval, Timeout.InfiniteTimeSpan);
            last = _lastResponse;
            Retransmissions++;
        }

        _layer.SendQuietly(Channel, last!);
    }

    /// <summary>Retransmissions of the final response so far (Timer G).</summary>
    public int Retransmissions { get; private set; }

    /// <summary>Timer I or J ran out (<see cref="SipTransactionLayer.ExpireAfter"/>).</summary>
    internal void Expire() => Terminate(acknowledged: true);

    private void Terminate(bool acknowledged)
    {
        lock (_gate)
        {
            if (_terminated)
            {
                return;
            }

            _terminated = true;
            _retransmit?.Dispose();
            _timeout?.Dispose();
        }

        _layer.Remove(this);
        _acknowledged.TrySetResult(acknowledged);
    }
}

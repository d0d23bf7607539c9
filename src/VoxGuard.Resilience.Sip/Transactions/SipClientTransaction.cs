using VoxGuard.Resilience.Sip.Messages;
using VoxGuard.Resilience.Sip.Transports;

namespace VoxGuard.Resilience.Sip.Transactions;

/// <summary>
/// A client transaction (RFC 3261 17.1): INVITE (Timers A, B, D; ACK for non-2xx finals; an Accepted state of 64·T1 in
/// which retransmitted 2xx re-send the TU's ACK, RFC 6026) or non-INVITE (Timers E, F, K).
/// </summary>
public sealed class SipClientTransaction
{
    private readonly SipTransactionLayer _layer;
    // Continuations run where the response or the timer completes it (see Completion): no hop through the thread pool.
    private readonly TaskCompletionSource<SipClientResult> _completion = new();
    private readonly Lock _gate = new();
    private readonly byte[] _bytes;
    private ITimer? _retransmit;
    private ITimer? _timeout;
    private ITimer? _linger;
    private TimeSpan _interval;
    private State _state = State.Calling;
    private byte[]? _ack;
    private SipChannel? _ackChannel;

    internal SipClientTransaction(SipTransactionLayer layer, SipRequest request, SipChannel channel, Action<SipResponse>? onProvisional)
    {
        _layer = layer;
        Request = request;
        Channel = channel;
        OnProvisional = onProvisional;
        Key = request.TransactionKey;
        IsInvite = request.Method == SipMethods.Invite;
        _bytes = request.ToBytes();
    }

    private enum State
    {
        Calling,
        Proceeding,
        Completed,
        Terminated,
    }

    /// <summary>The request.</summary>
    public SipRequest Request { get; }

    /// <summary>Where it was sent.</summary>
    public SipChannel Channel { get; }

    /// <summary>Branch and method.</summary>
    public string Key { get; }

    /// <summary>True for an INVITE transaction.</summary>
    public bool IsInvite { get; }

    /// <summary>The final response, or the timeout / transport error.</summary>
    /// <remarks>
    /// Its continuations run synchronously on the thread that completed it (the transport's receive loop or a timer),
    /// never under the transaction's lock: keep what follows an <c>await</c> on it short, or leave that thread first.
    /// A call only sends its ACK or writes its record there; handed to the thread pool instead, each answered call
    /// waited for a worker twice more in the load generator, a wait the setup times then counted.
    /// </remarks>
    public Task<SipClientResult> Completion => _completion.Task;

    /// <summary>
    /// When the final response arrived (the layer's clock, stamped on the receiving thread), or null before one did.
    /// What follows <see cref="Completion"/> may still run later than this (after a timer or another message on the
    /// same thread): under load that wait is the measuring process's own, not the far end's.
    /// </summary>
    public long? FinalResponseAt { get; private set; }

    private Action<SipResponse>? OnProvisional { get; }

    /// <summary>
    /// For an INVITE answered 2xx: the ACK the TU sent, so 2xx retransmissions within 64·T1 get it again
    /// (the ACK of a 2xx is the TU's, not the transaction's).
    /// </summary>
    public void RememberAck(SipRequest ack, SipChannel channel)
    {
        ArgumentNullException.ThrowIfNull(ack);
        ArgumentNullException.ThrowIfNull(channel);
        lock (_gate)
        {
            _ack = ack.ToBytes();
            _ackChannel = channel;
        }
    }

    internal async Task StartAsync()
    {
        var options = _layer.Options;
        lock (_gate)
        {
            if (!Channel.IsReliable)
            {
                _interval = options.T1;
                _retransmit = options.TimeProvider.CreateTimer(static state => ((SipClientTransaction)state!).Retransmit(), this, _interval, Timeout.InfiniteTimeSpan);
            }

            _timeout = options.TimeProvider.CreateTimer(static state => ((SipClientTransaction)state!).TimedOut(), this, options.TransactionTimeout, Timeout.InfiniteTimeSpan);
        }

        try
        {
            await Channel.SendAsync(_bytes).ConfigureAwait(false);
        }
        catch (SipTransportException exception)
        {
            Fail(SipClientFailure.TransportError, exception.Message);
        }
    }

    internal void OnResponse(SipResponse response)
    {
        Action<SipResponse>? provisional = null;
        byte[]? resend = null;
        SipChannel? resendChannel = null;
        var complete = false;
        var terminateNow = false;
        lock (_gate)
        {
            switch (_state)
            {
                case State.Calling or State.Proceeding when response.IsProvisional:
                    _state = State.Proceeding;
                    if (IsInvite)
                    {
                        // RFC 3261 17.1.1.2: in Proceeding an INVITE client transaction stops retransmitting and Timer B no longer applies.
                        _retransmit?.Dispose();
                        _retransmit = null;
                        _timeout?.Dispose();
                        _timeout = null;
                    }
                    else if (_retransmit is not null)
                    {
                        _interval = _layer.Options.T2;
                    }

                    provisional = OnProvisional;
                    break;
                case State.Calling or State.Proceeding:
                    FinalResponseAt = _layer.Options.TimeProvider.GetTimestamp();
                    StopTimers();
                    _state = State.Completed;
                    complete = true;
                    if (IsInvite && !response.IsSuccess)
                    {
                        _ack = BuildAckForFailure(response).ToBytes();
                        _ackChannel = Channel;
                        resend = _ack;
                        resendChannel = Channel;
                    }

                    var linger = IsInvite
                        ? response.IsSuccess ? (Channel.IsReliable ? TimeSpan.Zero : _layer.Options.TransactionTimeout) : Channel.IsReliable ? TimeSpan.Zero : TimeSpan.FromSeconds(32)
                        : Channel.IsReliable ? TimeSpan.Zero : _layer.Options.T4;
                    // Timers D and K are zero on a reliable transport: terminated below, without a timer's round trip
                    // through the thread pool (two per call for a TCP caller).
                    terminateNow = linger == TimeSpan.Zero;
                    if (!terminateNow)
                    {
                        _linger = _layer.Options.TimeProvider.CreateTimer(static state => ((SipClientTransaction)state!).Terminate(), this, linger, Timeout.InfiniteTimeSpan);
                    }

                    break;
                case State.Completed when !response.IsProvisional:
                    // A retransmitted final: ACK it again (INVITE); absorb it (non-INVITE).
                    resend = _ack;
                    resendChannel = _ackChannel;
                    break;
            }
        }

        provisional?.Invoke(response);
        if (resend is not null)
        {
            _layer.SendQuietly(resendChannel!, resend);
        }

        if (terminateNow)
        {
            Terminate();
        }

        if (complete)
        {
            _completion.TrySetResult(SipClientResult.Of(response));
        }
    }

    internal void OnTransportClosed()
    {
        bool completed;
        lock (_gate)
        {
            completed = _state == State.Completed;
        }

        if (completed)
        {
            Terminate();
            return;
        }

        Fail(SipClientFailure.TransportError, $"{Channel} closed before a final response to {Request.Method}");
    }

    private SipRequest BuildAckForFailure(SipResponse response)
    {
        // RFC 3261 17.1.1.3: same Request-URI, the top Via only, From and Call-ID, To of the response, CSeq number with ACK, Route.
        var ack = new SipRequest(SipMethods.Ack, Request.RequestUri);
        ack.Headers.Add(SipHeaderNames.Via, Request.Headers.GetEntries(SipHeaderNames.Via)[0]);
        ack.Headers.Add(SipHeaderNames.MaxForwards, "70");
        ack.Headers.Add(SipHeaderNames.From, Request.Headers.Get(SipHeaderNames.From)!);
        ack.Headers.Add(SipHeaderNames.To, response.Headers.Get(SipHeaderNames.To) ?? Request.Headers.Get(SipHeaderNames.To)!);
        ack.Headers.Add(SipHeaderNames.CallId, Request.CallId);
        ack.Headers.Add(SipHeaderNames.CSeq, new SipCSeq(Request.CSeq.Number, SipMethods.Ack).ToString());
        ack.Headers.CopyFrom(Request.Headers, SipHeaderNames.Route);
        return ack;
    }

    private void Retransmit()
    {
        lock (_gate)
        {
            if (_state is not (State.Calling or State.Proceeding) || _retransmit is null)
            {
                return;
            }

            // Timer A doubles without bound (Timer B ends it); Timer E doubles up to T2, and stays at T2 in Proceeding.
            _interval = IsInvite ? _interval * 2 : TimeSpan.FromTicks(Math.Min((_interval * 2).Ticks, _layer.Options.T2.Ticks));
            _retransmit.Change(_interval, Timeout.InfiniteTimeSpan);
            Retransmissions++;
        }

        _layer.SendQuietly(Channel, _bytes);
    }

    /// <summary>Retransmissions of the request so far (Timer A or E).</summary>
    public int Retransmissions { get; private set; }

    private void TimedOut() =>
        Fail(SipClientFailure.Timeout, $"no final response to {Request.Method} within 64·T1 ({_layer.Options.TransactionTimeout.TotalSeconds:0.###} s, Timer {(IsInvite ? "B" : "F")})");

    private void Fail(SipClientFailure failure, string error)
    {
        lock (_gate)
        {
            if (_state is State.Completed or State.Terminated)
            {
                return;
            }

            StopTimers();
            _state = State.Terminated;
        }

        _layer.Remove(this);
        _completion.TrySetResult(new SipClientResult(null, failure, error));
    }

    private void Terminate()
    {
        lock (_gate)
        {
            StopTimers();
            _linger?.Dispose();
            _state = State.Terminated;
        }

        _layer.Remove(this);
    }

    private void StopTimers()
    {
        _retransmit?.Dispose();
        _retransmit = null;
        _timeout?.Dispose();
        _timeout = null;
    }
}

using System.Globalization;
using System.Net;
using VoxGuard.Resilience.Sip.Messages;
using VoxGuard.Resilience.Sip.Transactions;
using VoxGuard.Resilience.Sip.Transports;

namespace VoxGuard.Resilience.Sip.UserAgents;

/// <summary>
/// One outgoing call in progress: INVITE → 1xx → 2xx → ACK → hold → BYE → 2xx. <see cref="Completion"/> gives its
/// <see cref="CallRecord"/> (never faults for the far end's failures); <see cref="CancelAsync"/> cancels it while
/// unanswered (CANCEL, 487, ACK) or hangs up early once answered.
/// </summary>
public sealed class SipCall
{
    private readonly SipUserAgentClient _uac;
    private readonly CallOptions _options;
    private readonly TaskCompletionSource _cancel = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Completed on the receiving thread by the first 1xx; the dialog only arms its answer timeout there (no thread-pool hop).
    private readonly TaskCompletionSource _provisional = new();
    private readonly string _fromTag = SipIds.NewTag();
    private long? _inviteSentAt;
    private long? _firstProvisionalAt;
    private string? _region;
    private SipClientTransaction? _inviteTransaction;
    private SipClientTransaction? _byeTransaction;
    private SipUdpTransport? _ownUdp;

    internal SipCall(SipUserAgentClient uac, IPEndPoint target, CallOptions options, CancellationToken cancellationToken)
    {
        _uac = uac;
        _options = options;
        Target = target;
        CallId = SipIds.NewCallId();
        StartedAt = uac.Time.GetTimestamp();
        var registration = cancellationToken.CanBeCanceled ? cancellationToken.Register(static state => ((SipCall)state!).Cancel(), this) : default;
        Completion = RunAsync(registration);
    }

    /// <summary>The Call-ID.</summary>
    public string CallId { get; }

    /// <summary>Where the INVITE goes.</summary>
    public IPEndPoint Target { get; }

    /// <summary>When it started (UAC clock timestamp).</summary>
    public long StartedAt { get; }

    /// <summary>The call's record once it has ended.</summary>
    public Task<CallRecord> Completion { get; }

    /// <summary>Cancels the call if unanswered, or hangs up now if answered; returns its record.</summary>
    public Task<CallRecord> CancelAsync()
    {
        Cancel();
        return Completion;
    }

    private void Cancel() => _cancel.TrySetResult();

    private async Task<CallRecord> RunAsync(CancellationTokenRegistration registration)
    {
        await Task.Yield();
        _uac.CallStarted();
        SipTcpConnection? tcp = null;
        SipUdpTransport? ownUdp = null;
        try
        {
            SipChannel channel;
            try
            {
                if (_options.Transport == SipTransportKind.Tcp)
                {
                    var connecting = SipTcpConnection.ConnectAsync(Target, _options.LocalAddress, _uac.Layer, _uac.Options.ParserLimits);
                    if (await Task.WhenAny(connecting, _cancel.Task).ConfigureAwait(false) != connecting)
                    {
                        _ = connecting.ContinueWith(static task => task.Result.Close(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
                        return Record(CallOutcome.Cancelled, null, "cancelled while connecting");
                    }

                    tcp = await connecting.ConfigureAwait(false);
                    channel = tcp;
                }
                else if (_options.LocalAddress is { } source && !source.Equals(_uac.UdpEndPoint.Address))
                {
                    ownUdp = new SipUdpTransport(new IPEndPoint(source, 0), _uac.Layer, _uac.Options.ParserLimits);
                    ownUdp.Start();
                    _ownUdp = ownUdp;
                    channel = ownUdp.ChannelTo(Target);
                }
                else
                {
                    channel = _uac.UdpTransport.ChannelTo(Target);
                }
            }
            catch (SipTransportException exception)
            {
                return Record(CallOutcome.TransportError, null, exception.Message);
            }

            return await RunDialogAsync(channel).ConfigureAwait(false);
        }
        finally
        {
            await registration.DisposeAsync().ConfigureAwait(false);
            if (tcp is not null && _options.TcpCloseDelay > TimeSpan.Zero)
            {
                _ = CloseLaterAsync(tcp, _options.TcpCloseDelay, _uac.Time);
            }
            else if (tcp is not null)
            {
                await tcp.DisposeAsync().ConfigureAwait(false);
            }

            if (ownUdp is not null)
            {
                await ownUdp.DisposeAsync().ConfigureAwait(false);
            }

            _uac.CallEnded();
        }
    }

    private static async Task CloseLaterAsync(SipTcpConnection connection, TimeSpan delay, TimeProvider time)
    {
        await Task.Delay(delay, time).ConfigureAwait(false);
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    private async Task<CallRecord> RunDialogAsync(SipChannel channel)
    {
        var time = _uac.Time;
        var invite = CreateInvite(channel);
        _inviteSentAt = time.GetTimestamp();
        var transaction = _uac.Layer.SendRequest(invite, channel, OnProvisional);
        _inviteTransaction = transaction;

        // Wait for the final response; a provisional starts the answer timeout; a cancel (or that timeout) sends CANCEL.
        var cancelReason = (CallOutcome?)null;
        using (var answerTimer = new CancellationTokenSource())
        {
            var answerTimeout = Task.Delay(Timeout.InfiniteTimeSpan, time, answerTimer.Token);
            var provisional = _provisional.Task;
            while (!transaction.Completion.IsCompleted)
            {
                var winner = await Task.WhenAny(transaction.Completion, _cancel.Task, provisional, answerTimeout).ConfigureAwait(false);
                if (winner == provisional)
                {
                    provisional = Task.Delay(Timeout.InfiniteTimeSpan, time, answerTimer.Token);
                    answerTimeout = Task.Delay(_options.AnswerTimeout, time, answerTimer.Token);
                }
                else if (winner == _cancel.Task || winner == answerTimeout)
                {
                    cancelReason = winner == _cancel.Task ? CallOutcome.Cancelled : CallOutcome.Timeout;
                    await CancelInviteAsync(invite, channel, transaction).ConfigureAwait(false);
                    break;
                }
            }

            await answerTimer.CancelAsync().ConfigureAwait(false);
        }

        var result = transaction.Completion.IsCompleted
            ? await transaction.Completion.ConfigureAwait(false)
            : new SipClientResult(null, SipClientFailure.Timeout, "no final response to the INVITE within 64·T1 of the CANCEL");
        if (result.Response is not { } final)
        {
            var outcome = cancelReason ?? (result.Failure == SipClientFailure.TransportError ? CallOutcome.TransportError : CallOutcome.Timeout);
            return Record(outcome, null, result.Error, channel);
        }

        _region = final.Headers.Get(SipHeaderNames.VoxGuardRegion) ?? _region;
        if (!final.IsSuccess)
        {
            var reason = string.Create(CultureInfo.InvariantCulture, $"{final.StatusCode} {final.ReasonPhrase}");
            return cancelReason switch
            {
                CallOutcome.Timeout => Record(CallOutcome.Timeout, final.StatusCode, $"no answer within {_options.AnswerTimeout.TotalSeconds:0.###} s of ringing; cancelled ({reason})", channel),
                CallOutcome.Cancelled => Record(CallOutcome.Cancelled, final.StatusCode, $"cancelled ({reason})", channel),
                _ => Record(CallOutcome.Rejected, final.StatusCode, reason, channel),
            };
        }

        var answeredAt = time.GetTimestamp();
        var dialog = Dialog.From(invite, final, channel, _uac, _ownUdp);
        var ack = dialog.CreateRequest(SipMethods.Ack, invite.CSeq.Number);
        SipChannel next;
        try
        {
            next = dialog.NextHop();
        }
        catch (ArgumentException exception)
        {
            return Record(CallOutcome.TransportError, final.StatusCode, $"answered, but the route to the far end is unusable: {exception.Message}", channel, answeredAt);
        }

        var ackError = await SipTransactionLayer.SendStatelessAsync(ack, next).ConfigureAwait(false);
        transaction.RememberAck(ack, next);
        if (ackError is not null)
        {
            return Record(CallOutcome.TransportError, final.StatusCode, $"ACK failed: {ackError}", channel, answeredAt);
        }

        var hungUpEarly = false;
        if (cancelReason is null && _options.HoldTime > TimeSpan.Zero)
        {
            var hold = Task.Delay(_options.HoldTime, time);
            hungUpEarly = await Task.WhenAny(hold, _cancel.Task).ConfigureAwait(false) != hold;
        }

        var bye = dialog.CreateRequest(SipMethods.Bye, invite.CSeq.Number + 1);
        _byeTransaction = _uac.Layer.SendRequest(bye, next);
        var byeResult = await _byeTransaction.Completion.ConfigureAwait(false);
        var endOutcome = cancelReason is not null || hungUpEarly ? CallOutcome.Cancelled : CallOutcome.Completed;
        if (byeResult.Response is not { } byeResponse)
        {
            return Record(CallOutcome.ByeFailed, final.StatusCode, $"BYE: {byeResult.Error}", channel, answeredAt);
        }

        if (!byeResponse.IsSuccess)
        {
            return Record(CallOutcome.ByeFailed, final.StatusCode, string.Create(CultureInfo.InvariantCulture, $"BYE answered {byeResponse.StatusCode} {byeResponse.ReasonPhrase}"),
                channel, answeredAt, byeResponse.StatusCode);
        }

        var why = endOutcome == CallOutcome.Cancelled ? (cancelReason is null ? "hung up early" : "answered while being cancelled; hung up") : null;
        return Record(endOutcome, final.StatusCode, why, channel, answeredAt, byeResponse.StatusCode);
    }

    private async Task CancelInviteAsync(SipRequest invite, SipChannel channel, SipClientTransaction transaction)
    {
        // RFC 3261 9.1: no CANCEL before a provisional response; Timer B still bounds the wait for one.
        await Task.WhenAny(_provisional.Task, transaction.Completion).ConfigureAwait(false);
        if (!transaction.Completion.IsCompleted)
        {
            var cancel = new SipRequest(SipMethods.Cancel, invite.RequestUri);
            cancel.Headers.Add(SipHeaderNames.Via, invite.Headers.GetEntries(SipHeaderNames.Via)[0]);
            cancel.Headers.Add(SipHeaderNames.MaxForwards, "70");
            cancel.Headers.CopyFrom(invite.Headers, SipHeaderNames.Route);
            cancel.Headers.Add(SipHeaderNames.From, invite.Headers.Get(SipHeaderNames.From)!);
            cancel.Headers.Add(SipHeaderNames.To, invite.Headers.Get(SipHeaderNames.To)!);
            cancel.Headers.Add(SipHeaderNames.CallId, invite.CallId);
            cancel.Headers.Add(SipHeaderNames.CSeq, new SipCSeq(invite.CSeq.Number, SipMethods.Cancel).ToString());
            _ = _uac.Layer.SendRequest(cancel, channel);
        }

        var bound = Task.Delay(_uac.Options.Transactions.TransactionTimeout, _uac.Time);
        await Task.WhenAny(transaction.Completion, bound).ConfigureAwait(false);
    }

    private void OnProvisional(SipResponse response)
    {
        _firstProvisionalAt ??= _uac.Time.GetTimestamp();
        _region ??= response.Headers.Get(SipHeaderNames.VoxGuardRegion);
        _provisional.TrySetResult();
    }

    private SipRequest CreateInvite(SipChannel channel)
    {
        var local = channel.LocalEndPoint;
        var tcp = channel.Kind == SipTransportKind.Tcp;
        var requestUri = SipUri.For(Target, _options.ToUser, tcp);
        var request = SipMessageFactory.CreateRequest(SipMethods.Invite, requestUri,
            SipVia.Format(channel.Kind.ViaName(), local, SipIds.NewBranch()),
            $"<{SipUri.For(local, _options.FromUser)}>;tag={_fromTag}",
            $"<{SipUri.For(Target, _options.ToUser)}>",
            CallId, 1);
        request.Headers.Add(SipHeaderNames.Contact, $"<{SipUri.For(local, _options.FromUser, tcp)}>");
        request.Headers.Add(SipHeaderNames.UserAgent, _uac.Options.UserAgent);
        foreach (var (name, value) in _options.Headers)
        {
            request.Headers.Add(name, value);
        }

        if (_options.IncludeSdp)
        {
            request.SetBody(Sdp.ContentType, Sdp.For(local.Address, _options.FromUser));
        }

        return request;
    }

    private CallRecord Record(CallOutcome outcome, int? statusCode, string? reason, SipChannel? channel = null, long? answeredAt = null, int? byeStatus = null) => new()
    {
        CallId = CallId,
        Target = Target,
        Transport = _options.Transport,
        LocalEndPoint = channel?.LocalEndPoint,
        StartedAt = StartedAt,
        InviteSentAt = _inviteSentAt,
        FirstProvisionalAt = _firstProvisionalAt,
        AnsweredAt = answeredAt,
        AnswerReadAt = answeredAt is null ? null : _inviteTransaction?.FinalResponseAt,
        EndedAt = _uac.Time.GetTimestamp(),
        TimestampFrequency = _uac.Time.TimestampFrequency,
        StatusCode = statusCode,
        ByeStatusCode = byeStatus,
        Outcome = outcome,
        FailureReason = reason,
        Region = _region,
        Retransmissions = (_inviteTransaction?.Retransmissions ?? 0) + (_byeTransaction?.Retransmissions ?? 0),
    };

    /// <summary>The dialog a 2xx created (RFC 3261 12.1.2): remote tag, route set (Record-Route reversed), remote target (Contact).</summary>
    private sealed class Dialog
    {
        private readonly SipRequest _invite;
        private readonly SipChannel _channel;
        private readonly SipUserAgentClient _uac;
        private readonly string _to;
        private readonly IReadOnlyList<string> _routes;
        private readonly string _remoteTarget;
        private SipUdpTransport? _udp;

        private Dialog(SipRequest invite, SipChannel channel, SipUserAgentClient uac, string to, IReadOnlyList<string> routes, string remoteTarget)
        {
            _invite = invite;
            _channel = channel;
            _uac = uac;
            _to = to;
            _routes = routes;
            _remoteTarget = remoteTarget;
        }

        public static Dialog From(SipRequest invite, SipResponse answer, SipChannel channel, SipUserAgentClient uac, SipUdpTransport? udp)
        {
            var routes = answer.Headers.GetEntries(SipHeaderNames.RecordRoute).Reverse().ToList();
            var target = answer.Contact?.Uri ?? invite.RequestUri;
            return new Dialog(invite, channel, uac, answer.Headers.Get(SipHeaderNames.To)!, routes, target) { _udp = udp };
        }

        /// <summary>Loose routing: Request-URI = remote target, Route = route set. Strict (first route without lr): Request-URI = that route.</summary>
        public SipRequest CreateRequest(string method, long cseq)
        {
            var strict = _routes.Count > 0 && RouteUri(_routes[0]) is { IsLooseRouter: false };
            var requestUri = strict ? SipNameAddress.TryParse(_routes[0], out var first) ? first!.Uri : _remoteTarget : _remoteTarget;
            var request = SipMessageFactory.CreateRequest(method, requestUri,
                SipVia.Format(_channel.Kind.ViaName(), _channel.LocalEndPoint, SipIds.NewBranch()),
                _invite.Headers.Get(SipHeaderNames.From)!, _to, _invite.CallId, cseq);
            foreach (var route in strict ? _routes.Skip(1).Append($"<{_remoteTarget}>") : _routes)
            {
                request.Headers.Add(SipHeaderNames.Route, route);
            }

            request.Headers.Add(SipHeaderNames.UserAgent, _uac.Options.UserAgent);
            return request;
        }

        /// <summary>
        /// TCP: the call's connection (a proxy behind a balancer is reached only through it). UDP: the first route, else
        /// the remote target, else where the INVITE went.
        /// </summary>
        /// <exception cref="ArgumentException">The next hop is outside 127.0.0.0/8.</exception>
        public SipChannel NextHop()
        {
            if (_channel.Kind == SipTransportKind.Tcp)
            {
                return _channel;
            }

            var uri = _routes.Count > 0 ? RouteUri(_routes[0]) : SipUri.TryParse(_remoteTarget, out var target) ? target : null;
            var endPoint = uri?.ToEndPoint() ?? _channel.RemoteEndPoint;
            if (endPoint.Equals(_channel.RemoteEndPoint))
            {
                return _channel;
            }

            return (_udp ?? _uac.UdpTransport).ChannelTo(endPoint);
        }

        private static SipUri? RouteUri(string route) =>
            SipNameAddress.TryParse(route, out var address) && SipUri.TryParse(address!.Uri, out var uri) ? uri : null;
    }
}

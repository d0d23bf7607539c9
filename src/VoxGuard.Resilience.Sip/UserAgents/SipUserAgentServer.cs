using System.Collections.Concurrent;
using System.Net;
using VoxGuard.Resilience.Sip.Messages;
using VoxGuard.Resilience.Sip.Transactions;
using VoxGuard.Resilience.Sip.Transports;

namespace VoxGuard.Resilience.Sip.UserAgents;

/// <summary>
/// The callee: OPTIONS → 200; INVITE → 180 at once (so no 100: RFC 3261 17.2.1) or, without ringing, 100; then the
/// hook's decision (200 with a tiny SDP by default), Record-Route copied so in-dialog requests come back through the
/// proxy; ACK absorbed; BYE → 200 (481 without a dialog); CANCEL → 200 and 487. Configured headers go on every response.
/// Listens on UDP and/or TCP.
/// </summary>
public sealed class SipUserAgentServer : ISipTransactionUser, IAsyncDisposable
{
    private readonly SipTransactionLayer _layer;
    private readonly SipUdpTransport? _udp;
    private readonly SipTcpListener? _tcp;
    private readonly ConcurrentDictionary<string, byte> _dialogs = new(StringComparer.Ordinal);
    private long _invites;
    private long _answered;
    private long _rejected;
    private long _cancelled;
    private long _acks;
    private long _ackTimeouts;
    private long _byes;
    private long _unknownByes;
    private long _options;
    private long _hookFailures;

    /// <summary>Binds the listeners and starts serving.</summary>
    /// <exception cref="ArgumentException">Invalid options (no endpoint, or one outside 127.0.0.0/8).</exception>
    /// <exception cref="SipTransportException">An endpoint cannot be bound.</exception>
    public SipUserAgentServer(SipUasOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _layer = new SipTransactionLayer(this, options.Transactions);
        try
        {
            if (options.UdpEndPoint is not null)
            {
                _udp = new SipUdpTransport(options.UdpEndPoint, _layer, options.ParserLimits);
            }

            if (options.TcpEndPoint is not null)
            {
                _tcp = new SipTcpListener(options.TcpEndPoint, _layer, options.ParserLimits);
            }
        }
        catch
        {
            _udp?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }

        _udp?.Start();
        _tcp?.Start();
    }

    /// <summary>The settings.</summary>
    public SipUasOptions Options { get; }

    /// <summary>The UDP endpoint, or null.</summary>
    public IPEndPoint? UdpEndPoint => _udp?.LocalEndPoint;

    /// <summary>The TCP endpoint, or null.</summary>
    public IPEndPoint? TcpEndPoint => _tcp?.LocalEndPoint;

    /// <summary>The transaction layer (live transactions, parse errors).</summary>
    public SipTransactionLayer Layer => _layer;

    /// <summary>A snapshot of the counters.</summary>
    public SipUasCounters Counters => new(
        Interlocked.Read(ref _invites), Interlocked.Read(ref _answered), Interlocked.Read(ref _rejected), Interlocked.Read(ref _cancelled),
        Interlocked.Read(ref _acks), Interlocked.Read(ref _ackTimeouts), Interlocked.Read(ref _byes), Interlocked.Read(ref _unknownByes),
        Interlocked.Read(ref _options), Interlocked.Read(ref _hookFailures), _layer.ParseErrors, _dialogs.Count);

    /// <summary>Stops listening and closes every connection. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_udp is not null)
        {
            await _udp.DisposeAsync().ConfigureAwait(false);
        }

        if (_tcp is not null)
        {
            await _tcp.DisposeAsync().ConfigureAwait(false);
        }
    }

    void ISipTransactionUser.OnRequest(SipServerTransaction transaction)
    {
        switch (transaction.Request.Method)
        {
            case SipMethods.Invite:
                Interlocked.Increment(ref _invites);
                var toTag = SipIds.NewTag();
                if (Options.SendRinging)
                {
                    // Ringing now, on the receiving thread: the transaction then sends no 100 of its own.
                    _ = transaction.RespondAsync(Decorate(transaction.CreateResponse(SipStatus.Ringing, toTag: toTag), transaction));
                }

                _ = Task.Run(() => HandleInviteAsync(transaction, toTag));
                break;
            case SipMethods.Options:
                Interlocked.Increment(ref _options);
                var ok = Decorate(transaction.CreateResponse(SipStatus.Ok, toTag: SipIds.NewTag()));
                ok.Headers.Add(SipHeaderNames.Allow, "INVITE, ACK, BYE, CANCEL, OPTIONS");
                _ = transaction.RespondAsync(ok);
                break;
            case SipMethods.Bye:
                Interlocked.Increment(ref _byes);
                var known = _dialogs.TryRemove(transaction.Request.CallId, out _);
                if (!known)
                {
                    Interlocked.Increment(ref _unknownByes);
                }

                _ = transaction.RespondAsync(Decorate(transaction.CreateResponse(known ? SipStatus.Ok : SipStatus.CallDoesNotExist)));
                break;
            default:
                _ = transaction.RespondAsync(Decorate(transaction.CreateResponse(501, toTag: SipIds.NewTag())));
                break;
        }
    }

    void ISipTransactionUser.OnStrayRequest(SipRequest request, SipChannel channel)
    {
        if (request.Method == SipMethods.Ack)
        {
            Interlocked.Increment(ref _acks);
        }
    }

    private async Task HandleInviteAsync(SipServerTransaction transaction, string toTag)
    {
        CallDecision decision;
        try
        {
            decision = Options.OnInvite is null
                ? CallDecision.Answer
                : await Options.OnInvite(new IncomingCall(transaction.Request, transaction.Channel, Options.Transactions.TimeProvider.GetTimestamp()),
                    transaction.Cancelled).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (transaction.Cancelled.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelled);
            return;
        }
#pragma warning disable CA1031 // Whatever the hook throws, the caller gets a 500 and the UAS goes on.
        catch (Exception)
#pragma warning restore CA1031
        {
            Interlocked.Increment(ref _hookFailures);
            decision = CallDecision.Reject(SipStatus.ServerInternalError);
        }

        if (transaction.Cancelled.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelled);
            return;
        }

        var response = Decorate(transaction.CreateResponse(decision.StatusCode, decision.ReasonPhrase, toTag), transaction);
        foreach (var (name, value) in decision.Headers ?? [])
        {
            response.Headers.Add(name, value);
        }

        var success = decision.StatusCode is >= 200 and < 300;
        if (success)
        {
            _dialogs[transaction.Request.CallId] = 0;
            if (Options.IncludeSdp)
            {
                response.SetBody(Sdp.ContentType, Sdp.For(transaction.Channel.LocalEndPoint.Address, Options.User));
            }
        }

        if (!await transaction.RespondAsync(response).ConfigureAwait(false))
        {
            if (transaction.Cancelled.IsCancellationRequested)
            {
                Interlocked.Increment(ref _cancelled);
            }

            _dialogs.TryRemove(transaction.Request.CallId, out _);
            return;
        }

        Interlocked.Increment(ref success ? ref _answered : ref _rejected);
        if (!await transaction.Acknowledged.ConfigureAwait(false))
        {
            Interlocked.Increment(ref _ackTimeouts);
            _dialogs.TryRemove(transaction.Request.CallId, out _);
        }
        else if (!success)
        {
            Interlocked.Increment(ref _acks);
        }
    }

    private SipResponse Decorate(SipResponse response, SipServerTransaction? transaction = null)
    {
        foreach (var (name, value) in Options.ResponseHeaders)
        {
            response.Headers.Add(name, value);
        }

        if (transaction is not null && transaction.Request.Method == SipMethods.Invite)
        {
            var tcp = transaction.Channel.Kind == SipTransportKind.Tcp;
            response.Headers.Add(SipHeaderNames.Contact, $"<{SipUri.For(transaction.Channel.LocalEndPoint, Options.User, tcp)}>");
        }

        response.Headers.Add(SipHeaderNames.Server, Options.Server);
        return response;
    }
}

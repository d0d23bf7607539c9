using System.Net;
using VoxGuard.Resilience.Sip.Messages;
using VoxGuard.Resilience.Sip.Transactions;
using VoxGuard.Resilience.Sip.Transports;

namespace VoxGuard.Resilience.Sip.UserAgents;

/// <summary>
/// The caller: OPTIONS pings and calls, any number at once on one shared UDP socket or on a TCP connection per call
/// (bound to the call's source address). Open-loop friendly: <see cref="PlaceCall"/> returns at once and each call costs
/// a few objects and timers, no thread. Failures of the far end are values in the <see cref="CallRecord"/>.
/// </summary>
public sealed class SipUserAgentClient : ISipTransactionUser, IAsyncDisposable
{
    private int _active;
    private long _placed;

    /// <summary>Binds the shared UDP socket and starts receiving.</summary>
    /// <exception cref="ArgumentException">Invalid options, or a UDP endpoint outside 127.0.0.0/8.</exception>
    /// <exception cref="SipTransportException">The UDP endpoint cannot be bound.</exception>
    public SipUserAgentClient(SipUacOptions? options = null)
    {
        Options = options ?? new SipUacOptions();
        Layer = new SipTransactionLayer(this, Options.Transactions);
        UdpTransport = new SipUdpTransport(Options.UdpEndPoint, Layer, Options.ParserLimits);
        UdpTransport.Start();
    }

    /// <summary>The settings.</summary>
    public SipUacOptions Options { get; }

    /// <summary>The shared UDP socket's endpoint.</summary>
    public IPEndPoint UdpEndPoint => UdpTransport.LocalEndPoint;

    /// <summary>Calls in progress.</summary>
    public int ActiveCalls => Volatile.Read(ref _active);

    /// <summary>Calls placed so far.</summary>
    public long CallsPlaced => Interlocked.Read(ref _placed);

    /// <summary>The transaction layer (counts of live transactions and parse errors).</summary>
    public SipTransactionLayer Layer { get; }

    internal SipUdpTransport UdpTransport { get; }

    internal TimeProvider Time => Options.Transactions.TimeProvider;

    /// <summary>
    /// Starts a call and returns at once; await <see cref="SipCall.Completion"/> for its record. Cancelling
    /// <paramref name="cancellationToken"/> cancels the call (CANCEL when unanswered, BYE when answered).
    /// </summary>
    /// <exception cref="ArgumentException">A target outside 127.0.0.0/8, or a source address outside it.</exception>
    public SipCall PlaceCall(IPEndPoint target, CallOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        SipLoopback.Ensure(target, "call target");
        options ??= CallOptions.Default;
        if (options.LocalAddress is not null)
        {
            SipLoopback.Ensure(options.LocalAddress, "call source address");
        }

        Interlocked.Increment(ref _placed);
        return new SipCall(this, target, options, cancellationToken);
    }

    /// <summary>Places a call and waits for its record (see <see cref="PlaceCall"/>).</summary>
    /// <exception cref="ArgumentException">A target or source outside 127.0.0.0/8.</exception>
    public Task<CallRecord> CallAsync(IPEndPoint target, CallOptions? options = null, CancellationToken cancellationToken = default) =>
        PlaceCall(target, options, cancellationToken).Completion;

    /// <summary>Sends OPTIONS and returns the final status (or the timeout/transport error) and the region header.</summary>
    /// <exception cref="ArgumentException">A target or source outside 127.0.0.0/8.</exception>
    public async Task<SipOptionsResult> OptionsAsync(IPEndPoint target, SipTransportKind transport = SipTransportKind.Udp,
        IPAddress? localAddress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        SipLoopback.Ensure(target, "OPTIONS target");
        var started = Time.GetTimestamp();
        SipTcpConnection? tcp = null;
        try
        {
            SipChannel channel;
            if (transport == SipTransportKind.Tcp)
            {
                try
                {
                    tcp = await SipTcpConnection.ConnectAsync(target, localAddress, Layer, Options.ParserLimits, cancellationToken).ConfigureAwait(false);
                }
                catch (SipTransportException exception)
                {
                    return new SipOptionsResult(null, SipClientFailure.TransportError, exception.Message, null, Time.GetElapsedTime(started));
                }

                channel = tcp;
            }
            else
            {
                channel = UdpTransport.ChannelTo(target);
            }

            var local = channel.LocalEndPoint;
            var request = SipMessageFactory.CreateRequest(SipMethods.Options, SipUri.For(target, null, transport == SipTransportKind.Tcp),
                SipVia.Format(transport.ViaName(), local, SipIds.NewBranch()),
                $"<{SipUri.For(local, "ping")}>;tag={SipIds.NewTag()}", $"<{SipUri.For(target)}>", SipIds.NewCallId(), 1);
            request.Headers.Add(SipHeaderNames.UserAgent, Options.UserAgent);
            var result = await Layer.SendRequest(request, channel).Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
            return new SipOptionsResult(result.StatusCode, result.Failure, result.Error, result.Response?.Headers.Get(SipHeaderNames.VoxGuardRegion),
                Time.GetElapsedTime(started));
        }
        finally
        {
            if (tcp is not null)
            {
                await tcp.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Closes the shared socket (calls still running end with transport errors).</summary>
    public ValueTask DisposeAsync() => UdpTransport.DisposeAsync();

    void ISipTransactionUser.OnRequest(SipServerTransaction transaction)
    {
        // A caller only: in-dialog requests from the far end (a BYE of its own) are answered 200, anything else 501.
        var status = transaction.Request.Method is SipMethods.Bye or SipMethods.Options ? SipStatus.Ok : 501;
        _ = transaction.RespondAsync(transaction.CreateResponse(status, toTag: SipIds.NewTag()));
    }

    internal void CallStarted() => Interlocked.Increment(ref _active);

    internal void CallEnded() => Interlocked.Decrement(ref _active);
}

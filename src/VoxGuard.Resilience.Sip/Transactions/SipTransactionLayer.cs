using System.Collections.Concurrent;
using System.Globalization;
using VoxGuard.Resilience.Sip.Messages;
using VoxGuard.Resilience.Sip.Transports;

namespace VoxGuard.Resilience.Sip.Transactions;

/// <summary>What the transaction layer hands to its user (a UAC or UAS).</summary>
public interface ISipTransactionUser
{
    /// <summary>
    /// A new server transaction (any request but ACK and CANCEL). Called on the receive loop: respond through
    /// <see cref="SipServerTransaction.RespondAsync"/>, from another task when that takes time. An INVITE has had its 100.
    /// </summary>
    void OnRequest(SipServerTransaction transaction);

    /// <summary>A request outside any transaction: the ACK of a 2xx no transaction was waiting for, or a retransmitted one.</summary>
    void OnStrayRequest(SipRequest request, SipChannel channel)
    {
    }

    /// <summary>A response no client transaction matches (a 2xx retransmitted after the transaction ended).</summary>
    void OnStrayResponse(SipResponse response, SipChannel channel)
    {
    }

    /// <summary>A TCP connection closed.</summary>
    void OnClosed(SipChannel channel)
    {
    }
}

/// <summary>
/// Matches messages to transactions (RFC 3261 17.1.3 and 17.2.3: top Via branch and CSeq method; an ACK matches its
/// INVITE's transaction, by branch for a non-2xx and by Call-ID and CSeq for a 2xx), runs them on the injected clock,
/// and answers unparseable requests with the code the parser chose. It is the sink of every transport of a user agent.
/// </summary>
public sealed class SipTransactionLayer : ISipMessageSink
{
    private readonly ConcurrentDictionary<string, SipClientTransaction> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SipServerTransaction> _servers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SipServerTransaction> _awaitingAck = new(StringComparer.Ordinal);
    private readonly ISipTransactionUser _user;
    private readonly Lock _expiryGate = new();
    private readonly PriorityQueue<SipServerTransaction, long> _expiring = new();
    private ITimer? _expirySweep;
    private long _parseErrors;

    /// <summary>
    /// How often completed server transactions waiting out Timer I or J are swept (<see cref="ExpireAfter"/>): they end
    /// up to this much after their time. One timer for all of them instead of one each: an engine completes two per call
    /// (the INVITE's after its ACK, the BYE's), and each timer of its own fired as a thread-pool work item.
    /// </summary>
    private static readonly TimeSpan ExpirySweepInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>A layer delivering to <paramref name="user"/>.</summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    public SipTransactionLayer(ISipTransactionUser user, SipTransactionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(user);
        options ??= new SipTransactionOptions();
        options.Validate();
        _user = user;
        Options = options;
    }

    /// <summary>The timers and clock.</summary>
    public SipTransactionOptions Options { get; }

    /// <summary>Client transactions alive (including those absorbing retransmissions).</summary>
    public int ClientTransactionCount => _clients.Count;

    /// <summary>Server transactions alive.</summary>
    public int ServerTransactionCount => _servers.Count;

    /// <summary>Messages that failed to parse.</summary>
    public long ParseErrors => Interlocked.Read(ref _parseErrors);

    /// <summary>
    /// Starts a client transaction: sends <paramref name="request"/> on <paramref name="channel"/> and runs its timers.
    /// <paramref name="onProvisional"/> sees each 1xx. Await <see cref="SipClientTransaction.Completion"/> for the result.
    /// </summary>
    /// <exception cref="ArgumentException">An ACK (it has no transaction), or a request without a branch.</exception>
    public SipClientTransaction SendRequest(SipRequest request, SipChannel channel, Action<SipResponse>? onProvisional = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(channel);
        if (request.Method == SipMethods.Ack)
        {
            throw new ArgumentException("An ACK has no client transaction: send it with SendStatelessAsync.", nameof(request));
        }

        if (request.TopVia?.Branch is null)
        {
            throw new ArgumentException("The request's top Via needs a branch (SipIds.NewBranch()).", nameof(request));
        }

        var transaction = new SipClientTransaction(this, request, channel, onProvisional);
        if (!_clients.TryAdd(transaction.Key, transaction))
        {
            throw new ArgumentException($"A client transaction {transaction.Key} already exists.", nameof(request));
        }

        _ = transaction.StartAsync();
        return transaction;
    }

    /// <summary>Sends a message outside any transaction (the ACK of a 2xx). Returns the transport error, or null.</summary>
    public static async ValueTask<string?> SendStatelessAsync(SipMessage message, SipChannel channel)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(channel);
        try
        {
            await channel.SendAsync(message).ConfigureAwait(false);
            return null;
        }
        catch (SipTransportException exception)
        {
            return exception.Message;
        }
    }

    /// <inheritdoc/>
    public void OnMessage(SipMessage message, SipChannel channel)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(channel);
        if (message is SipResponse response)
        {
            if (_clients.TryGetValue(response.TransactionKey, out var client))
            {
                client.OnResponse(response);
            }
            else
            {
                _user.OnStrayResponse(response, channel);
            }

            return;
        }

        var request = (SipRequest)message;
        switch (request.Method)
        {
            case SipMethods.Ack:
                OnAck(request, channel);
                return;
            case SipMethods.Cancel:
                _ = OnCancelAsync(request, channel);
                return;
        }

        var transaction = new SipServerTransaction(this, request, channel);
        if (!_servers.TryAdd(transaction.Key, transaction))
        {
            if (_servers.TryGetValue(transaction.Key, out var existing))
            {
                existing.OnRetransmittedRequest();
            }

            return;
        }

        _user.OnRequest(transaction);
        if (transaction.IsInvite)
        {
            // After the TU saw it: a UAS that rang at once has made the 100 redundant (RFC 3261 17.2.1).
            transaction.StartInvite();
        }
    }

    /// <inheritdoc/>
    public void OnParseError(SipParseException error, SipChannel channel)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(channel);
        Interlocked.Increment(ref _parseErrors);
        if (!error.WasRequest || error.Headers is null
            || (error.Headers.Get(SipHeaderNames.CSeq)?.EndsWith(SipMethods.Ack, StringComparison.Ordinal) ?? false))
        {
            return;
        }

        var response = SipMessageFactory.CreateResponse(error.Headers, error.StatusCode, toTag: SipIds.NewTag());
        if (response is not null)
        {
            response.Headers.Add("Warning", string.Create(CultureInfo.InvariantCulture, $"399 voxguard \"{error.Reason.Replace('"', '\'')}\""));
            SendQuietly(channel, response.ToBytes());
        }
    }

    /// <inheritdoc/>
    public void OnClosed(SipChannel channel)
    {
        foreach (var client in _clients.Values)
        {
            if (ReferenceEquals(client.Channel, channel))
            {
                client.OnTransportClosed();
            }
        }

        foreach (var server in _servers.Values)
        {
            if (ReferenceEquals(server.Channel, channel))
            {
                server.OnTransportClosed();
            }
        }

        _user.OnClosed(channel);
    }

    internal void SendQuietly(SipChannel channel, byte[] bytes)
    {
        _ = SendAsync();

        async Task SendAsync()
        {
            try
            {
                await channel.SendAsync(bytes).ConfigureAwait(false);
            }
            catch (SipTransportException)
            {
                // A retransmission or an automatic response that cannot go out: the timers report what follows.
            }
        }
    }

    internal void ExpectAck(SipServerTransaction transaction) => _awaitingAck[transaction.AckKey!] = transaction;

    /// <summary>
    /// Ends <paramref name="transaction"/> (as acknowledged) once <paramref name="after"/> has passed, at the next sweep:
    /// Timer I or J, which only absorb retransmissions, so ending up to <see cref="ExpirySweepInterval"/> late changes nothing
    /// a peer can see.
    /// </summary>
    internal void ExpireAfter(SipServerTransaction transaction, TimeSpan after)
    {
        var time = Options.TimeProvider;
        var due = time.GetTimestamp() + (long)(after.TotalSeconds * time.TimestampFrequency);
        lock (_expiryGate)
        {
            _expiring.Enqueue(transaction, due);
            _expirySweep ??= time.CreateTimer(static state => ((SipTransactionLayer)state!).SweepExpired(), this, ExpirySweepInterval, ExpirySweepInterval);
        }
    }

    private void SweepExpired()
    {
        var now = Options.TimeProvider.GetTimestamp();
        List<SipServerTransaction>? expired = null;
        lock (_expiryGate)
        {
            while (_expiring.TryPeek(out var transaction, out var due) && due <= now)
            {
                _expiring.Dequeue();
                (expired ??= []).Add(transaction);
            }

            if (_expiring.Count == 0)
            {
                // Idle: no timer runs until the next completed transaction.
                _expirySweep?.Dispose();
                _expirySweep = null;
            }
        }

        foreach (var transaction in expired ?? [])
        {
            transaction.Expire();
        }
    }

    internal void Remove(SipClientTransaction transaction) =>
        _clients.TryRemove(new KeyValuePair<string, SipClientTransaction>(transaction.Key, transaction));

    internal void Remove(SipServerTransaction transaction)
    {
        _servers.TryRemove(new KeyValuePair<string, SipServerTransaction>(transaction.Key, transaction));
        if (transaction.AckKey is { } ackKey)
        {
            _awaitingAck.TryRemove(new KeyValuePair<string, SipServerTransaction>(ackKey, transaction));
        }
    }

    /// <summary>What matches the ACK of a 2xx to its INVITE's transaction: Call-ID, CSeq number and From tag.</summary>
    internal static string AckKeyOf(SipRequest request) =>
        string.Create(CultureInfo.InvariantCulture, $"{request.CallId}\n{request.CSeq.Number}\n{request.From?.Tag}");

    private void OnAck(SipRequest ack, SipChannel channel)
    {
        // Non-2xx: same branch as the INVITE. 2xx: a new branch; the dialog (Call-ID, CSeq number, From tag) identifies it.
        var branchKey = (ack.TopVia?.Branch ?? string.Empty) + " " + SipMethods.Invite;
        if (_servers.TryGetValue(branchKey, out var byBranch))
        {
            byBranch.OnAck();
            return;
        }

        if (_awaitingAck.TryRemove(AckKeyOf(ack), out var byDialog))
        {
            byDialog.OnAck();
            _user.OnStrayRequest(ack, channel);
            return;
        }

        _user.OnStrayRequest(ack, channel);
    }

    private async Task OnCancelAsync(SipRequest cancel, SipChannel channel)
    {
        var inviteKey = (cancel.TopVia?.Branch ?? string.Empty) + " " + SipMethods.Invite;
        var cancelTransaction = new SipServerTransaction(this, cancel, channel);
        if (!_servers.TryAdd(cancelTransaction.Key, cancelTransaction))
        {
            if (_servers.TryGetValue(cancelTransaction.Key, out var existing))
            {
                existing.OnRetransmittedRequest();
            }

            return;
        }

        if (!_servers.TryGetValue(inviteKey, out var invite))
        {
            await cancelTransaction.RespondAsync(cancelTransaction.CreateResponse(SipStatus.CallDoesNotExist, toTag: SipIds.NewTag())).ConfigureAwait(false);
            return;
        }

        var toTag = SipIds.NewTag();
        await cancelTransaction.RespondAsync(cancelTransaction.CreateResponse(SipStatus.Ok, toTag: toTag)).ConfigureAwait(false);
        await invite.CancelAsync().ConfigureAwait(false);
    }
}

using System.Net;
using VoxGuard.Resilience.Sip.Messages;

namespace VoxGuard.Resilience.Sip.Transports;

/// <summary>
/// A path to one peer: a UDP socket and a remote endpoint, or one TCP connection. A received message comes with the
/// channel it arrived on, and the response goes back the same way.
/// </summary>
public abstract class SipChannel
{
    /// <summary>UDP or TCP.</summary>
    public abstract SipTransportKind Kind { get; }

    /// <summary>True for TCP: no retransmissions needed.</summary>
    public bool IsReliable => Kind == SipTransportKind.Tcp;

    /// <summary>This side's address and port.</summary>
    public abstract IPEndPoint LocalEndPoint { get; }

    /// <summary>The peer's address and port.</summary>
    public abstract IPEndPoint RemoteEndPoint { get; }

    /// <summary>False once a TCP connection has closed (UDP channels are always open while their socket is).</summary>
    public abstract bool IsOpen { get; }

    /// <summary>Sends a message to the peer.</summary>
    /// <exception cref="SipTransportException">The send failed (connection closed or reset, socket disposed).</exception>
    public ValueTask SendAsync(SipMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return SendAsync(message.ToBytes(), cancellationToken);
    }

    /// <summary>Sends bytes already serialised (a retransmission).</summary>
    /// <exception cref="SipTransportException">The send failed.</exception>
    public abstract ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default);

    /// <inheritdoc/>
    public override string ToString() => $"{Kind.ViaName()} {LocalEndPoint} -> {RemoteEndPoint}";
}

/// <summary>What a transport hands up: a parsed message, or a parse error, each with the channel it came on.</summary>
public interface ISipMessageSink
{
    /// <summary>A message arrived. Called on the receive loop: return quickly (hand long work to a task).</summary>
    void OnMessage(SipMessage message, SipChannel channel);

    /// <summary>Bytes arrived that do not parse (a TCP connection is closed after this).</summary>
    void OnParseError(SipParseException error, SipChannel channel);

    /// <summary>A TCP connection closed (by either side or by an error).</summary>
    void OnClosed(SipChannel channel)
    {
    }
}

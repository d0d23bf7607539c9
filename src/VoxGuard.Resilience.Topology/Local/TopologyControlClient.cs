using System.Net.Http.Json;
using System.Text.Json;

namespace VoxGuard.Resilience.Topology.Local;

/// <summary>
/// Sends requests to the <see cref="TopologyControlServer"/> of a running topology (what <c>./resilience fault …</c>
/// uses). Find one with <see cref="For(RunningTopology)"/>.
/// </summary>
public sealed class TopologyControlClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _token;

    /// <summary>A client for the server at <paramref name="address"/> (loopback only).</summary>
    /// <param name="address">The server's address, e.g. http://127.0.0.1:40123/.</param>
    /// <param name="token">The server's token (from the run's <see cref="TopologyRecord"/>).</param>
    /// <param name="timeout">How long to wait for an answer; longer than the server's own request timeout.</param>
    public TopologyControlClient(Uri address, string token, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(token);
        if (!address.IsLoopback)
        {
            throw new ArgumentException($"The control channel is on loopback only; {address} is not.", nameof(address));
        }

        Address = address;
        _token = token;
        _http = new HttpClient { BaseAddress = address, Timeout = timeout ?? new TopologyControlServerOptions().RequestTimeout + TimeSpan.FromSeconds(30) };
    }

    /// <summary>The server's address.</summary>
    public Uri Address { get; }

    /// <summary>The client for a running topology's control channel.</summary>
    /// <exception cref="TopologyControlException">Its record names no control channel (an older harness serves it, or
    /// it is still starting).</exception>
    public static TopologyControlClient For(RunningTopology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        if (topology.Record.Control is not { } control || topology.Record.ControlToken is not { } token || !Uri.TryCreate(control, UriKind.Absolute, out var address))
        {
            throw new TopologyControlException(
                $"The topology served by pid {topology.HarnessPid} has no control channel yet: it is still starting, or an older ./resilience up serves it " +
                "(stop it with ./resilience down and start it again).");
        }

        return new TopologyControlClient(address, token);
    }

    /// <summary>Sends one request and returns the server's answer (done, or refused/failed with its error).</summary>
    /// <exception cref="TopologyControlException">The server could not be reached or did not answer as a control channel.</exception>
    public async Task<TopologyControlResponse> SendAsync(TopologyControlRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var message = new HttpRequestMessage(HttpMethod.Post, TopologyControlServer.RequestsPath.TrimStart('/'))
        {
            Content = JsonContent.Create(request, options: TopologyControlJson.Options),
        };
        message.Headers.Add(TopologyControlServer.TokenHeader, _token);
        try
        {
            using var response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadFromJsonAsync<TopologyControlResponse>(TopologyControlJson.Options, cancellationToken).ConfigureAwait(false);
            return body ?? throw new TopologyControlException($"The control channel at {Address} answered {(int)response.StatusCode} with no body.");
        }
        catch (HttpRequestException exception)
        {
            throw new TopologyControlException(
                $"Could not reach the topology's control channel at {Address}: {exception.Message} Is ./resilience up still serving it (./resilience status)?", exception);
        }
        catch (TaskCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TopologyControlException(
                $"The control channel at {Address} did not answer '{request}' within {_http.Timeout.TotalSeconds:F0} s. The topology may still be acting on it: ./resilience status shows its state.", exception);
        }
        catch (JsonException exception)
        {
            throw new TopologyControlException($"The control channel at {Address} did not answer with a control response: {exception.Message}", exception);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();
}

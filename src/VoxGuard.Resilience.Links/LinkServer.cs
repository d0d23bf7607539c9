using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VoxGuard.Resilience.Links.Api;
using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Links.Proxies;

namespace VoxGuard.Resilience.Links;

/// <summary>
/// The inter-region link server: TCP proxies with Toxiproxy's toxics, driven through
/// Toxiproxy's HTTP API v2 so that any Toxiproxy client (and <see cref="Client.LinkClient"/>)
/// works against it. Runs embedded in the harness or standalone (<c>links serve</c>).
/// </summary>
public sealed class LinkServer : IAsyncDisposable
{
    /// <summary>The Toxiproxy version whose API this server speaks.</summary>
    public const string CompatibleToxiproxyVersion = "2.12.0";

    private readonly LinkServerOptions _options;
    private readonly LinkClock _clock = new();
    private readonly ProxyCollection _proxies;
    private WebApplication? _web;
    private int _disposed;

    public LinkServer(LinkServerOptions? options = null)
    {
        _options = options ?? new LinkServerOptions();
        _options.Validate();
        _proxies = new ProxyCollection(_clock, _options.RandomSeed, _options.UpstreamSource);
    }

    /// <summary>The API's base address, e.g. http://127.0.0.1:8474/ (the real port once started).</summary>
    public Uri ApiAddress { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Binds the API. Throws <see cref="LinkServerException"/> when its address is taken.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_web is not null)
        {
            return;
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Production",
        });
        builder.Logging.ClearProviders();

        // Embedded in the harness: Ctrl-C and SIGTERM belong to the host program, not to this server.
        builder.Services.AddSingleton<IHostLifetime, EmbeddedHostLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(_options.ApiEndpoint);
            kestrel.AddServerHeader = false;
        });
        var web = builder.Build();
        var api = new LinkApi(_proxies, CompatibleToxiproxyVersion);
        web.Run(api.HandleAsync);
        try
        {
            await web.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException exception)
        {
            await web.DisposeAsync().ConfigureAwait(false);
            throw new LinkServerException(
                $"The link server could not listen on {_options.ApiEndpoint}: {exception.Message.TrimEnd('.')}. " +
                "Another link server or Toxiproxy may be running there: stop it, or choose another port (--listen 127.0.0.1:0).",
                exception);
        }

        var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        ApiAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        _web = web;
    }

    /// <summary>
    /// Disables (or enables) the named proxies in one change, by a call instead of a request (<c>POST /disable</c> does
    /// the same): the process that embeds the server cuts a region's links at once, without waiting on its own HTTP
    /// stack — in a busy scenario host that request took 0.8–1.5 s to take effect. Refusals throw
    /// <see cref="LinkApiException"/>, as the client's would.
    /// </summary>
    public async Task SetProxiesEnabledAsync(IEnumerable<string> names, bool enabled)
    {
        ArgumentNullException.ThrowIfNull(names);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        try
        {
            await _proxies.SetEnabledAsync([.. names], enabled).ConfigureAwait(false);
        }
        catch (LinkApiError error)
        {
            throw new LinkApiException(error.Status, error.Message, $"{(enabled ? "enable" : "disable")} (in process)");
        }
    }

    /// <summary>Stops the API, every proxy and every connection; nothing keeps listening.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_web is { } web)
        {
            await web.StopAsync().ConfigureAwait(false);
            await web.DisposeAsync().ConfigureAwait(false);
        }

        await _proxies.DisposeAsync().ConfigureAwait(false);
        _clock.Dispose();
    }
}

/// <summary>The link server itself could not do what was asked (not an API refusal).</summary>
public sealed class LinkServerException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>A host lifetime that leaves process signals alone.</summary>
internal sealed class EmbeddedHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

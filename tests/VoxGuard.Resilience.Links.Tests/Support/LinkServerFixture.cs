using System.Net;
using VoxGuard.Resilience.Links.Client;

namespace VoxGuard.Resilience.Links.Tests.Support;

/// <summary>A link server on a free loopback port with a client for it; disposing stops both.</summary>
internal sealed class LinkServerFixture : IAsyncDisposable
{
    private LinkServerFixture(LinkServer server)
    {
        Server = server;
        Client = new LinkClient(server.ApiAddress);
    }

    public LinkServer Server { get; }

    public LinkClient Client { get; }

    public static async Task<LinkServerFixture> StartAsync(int? randomSeed = 1234)
    {
        var server = new LinkServer(new LinkServerOptions
        {
            ApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            RandomSeed = randomSeed,
        });
        await server.StartAsync();
        return new LinkServerFixture(server);
    }

    /// <summary>Creates a proxy on a free loopback port in front of <paramref name="upstream"/>.</summary>
    public async Task<IPEndPoint> ProxyAsync(string name, string upstream)
    {
        var proxy = await Client.CreateProxyAsync(new LinkProxySpec(name, "127.0.0.1:0", upstream));
        return IPEndPoint.Parse(proxy.Listen);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}

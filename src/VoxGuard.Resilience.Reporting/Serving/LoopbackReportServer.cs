using System.Net;
using System.Net.Sockets;

namespace VoxGuard.Resilience.Reporting.Serving;

/// <summary>
/// Serves a rendered report directory on 127.0.0.1 only (the Allure page loads its data with requests a file:// page
/// may not make). Used instead of <c>allure open</c>, which listens on every interface. GET of files only; stops when
/// disposed.
/// </summary>
public sealed class LoopbackReportServer : IAsyncDisposable
{
    private static readonly Dictionary<string, string> MediaTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".json"] = "application/json",
        [".png"] = "image/png",
        [".svg"] = "image/svg+xml",
        [".ico"] = "image/x-icon",
        [".csv"] = "text/plain; charset=utf-8",
        [".txt"] = "text/plain; charset=utf-8",
        [".woff"] = "font/woff",
        [".woff2"] = "font/woff2",
    };

    private readonly HttpListener _listener;
    private readonly string _root;
    private readonly Task _serving;

    private LoopbackReportServer(HttpListener listener, string root, Uri address)
    {
        _listener = listener;
        _root = root;
        Address = address;
        _serving = ServeAsync();
    }

    /// <summary>Where the report is served, e.g. http://127.0.0.1:40123/.</summary>
    public Uri Address { get; }

    /// <summary>Starts serving <paramref name="directory"/> on a free loopback port (or <paramref name="port"/>).</summary>
    public static LoopbackReportServer Start(string directory, int port = 0)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var root = Path.GetFullPath(directory);
        if (!File.Exists(Path.Combine(root, "index.html")))
        {
            throw new ReportException($"{root} has no index.html: it is not a rendered report. Build it with ./resilience report.");
        }

        if (port == 0)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var address = new Uri($"http://127.0.0.1:{port}/");
        var listener = new HttpListener();
        listener.Prefixes.Add(address.ToString());
        listener.Start();
        return new LoopbackReportServer(listener, root, address);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _listener.Close();
        try
        {
            await _serving.ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is HttpListenerException or ObjectDisposedException or InvalidOperationException)
        {
            // closing the listener ends the accept loop
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => Respond(context));
        }
    }

    private void Respond(HttpListenerContext context)
    {
        using var response = context.Response;
        try
        {
            var relative = Uri.UnescapeDataString(context.Request.Url?.AbsolutePath ?? "/").TrimStart('/');
            if (relative.Length == 0)
            {
                relative = "index.html";
            }

            var path = Path.GetFullPath(Path.Combine(_root, relative));
            // Nothing outside the report directory, whatever the request's path says.
            if (context.Request.HttpMethod != "GET" || !path.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(path))
            {
                response.StatusCode = context.Request.HttpMethod != "GET" ? 405 : 404;
                return;
            }

            response.ContentType = MediaTypes.GetValueOrDefault(Path.GetExtension(path), "application/octet-stream");
            var bytes = File.ReadAllBytes(path);
            response.ContentLength64 = bytes.Length;
            response.OutputStream.Write(bytes);
        }
        catch (Exception exception) when (exception is IOException or HttpListenerException or UnauthorizedAccessException)
        {
            // the browser went away mid-response, or the file is unreadable: nothing to tell it
        }
    }
}

using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Topology.Backups;

/// <summary>
/// The certificates of pgBackRest's TLS servers, made fresh for each run: a certificate authority, one server
/// certificate per region (its name is the region's <see cref="DataTier.RegionHosts.PgBackRest"/> host, which clients
/// check) and one client certificate every pgBackRest command presents (its common name is what
/// <c>tls-server-auth</c> authorises for the stanza). Written as PEM files; private keys mode 600.
/// </summary>
internal static class BackupTls
{
    /// <summary>The client certificate's common name.</summary>
    public const string ClientName = "voxguard-backup";

    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    public static string CaFile(string directory) => Path.Combine(directory, "ca.crt");

    public static string CertFile(string directory, string name) => Path.Combine(directory, $"{name}.crt");

    public static string KeyFile(string directory, string name) => Path.Combine(directory, $"{name}.key");

    /// <summary>Writes the CA, a server certificate per region and the client certificate into <paramref name="directory"/>.</summary>
    public static void Write(string directory, EnvironmentDefinition environment, TimeProvider time)
    {
        Directory.CreateDirectory(directory);
        var now = time.GetUtcNow();
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=voxguard-backup-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddHours(-1), now.AddDays(30));
        File.WriteAllText(CaFile(directory), ca.ExportCertificatePem());

        var serial = 1;
        foreach (var region in environment.Regions)
        {
            Issue(directory, DataTier.RegionHosts.PgBackRest(region.Name), ca, now, serial++, server: true);
        }

        Issue(directory, ClientName, ca, now, serial, server: false);
    }

    /// <summary>
    /// A TLS handshake with <paramref name="serverName"/>'s pgBackRest server at <paramref name="endpoint"/>, presenting
    /// the client certificate and checking the server's against the run's CA. Null when it succeeds, else why not.
    /// </summary>
    public static async Task<string?> HandshakeAsync(string directory, string serverName, IPEndPoint endpoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(CaFile(directory)));
        using var client = X509Certificate2.CreateFromPemFile(CertFile(directory, ClientName), KeyFile(directory, ClientName));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint, deadline.Token).ConfigureAwait(false);
            await using var stream = new SslStream(new NetworkStream(socket, ownsSocket: false));
            await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = serverName,
                ClientCertificates = [client],
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && IssuedBy(certificate, ca),
            }, deadline.Token).ConfigureAwait(false);
            return null;
        }
        catch (Exception exception) when (exception is SocketException or IOException or System.Security.Authentication.AuthenticationException
                                              or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return exception is OperationCanceledException
                ? string.Create(CultureInfo.InvariantCulture, $"no TLS handshake within {timeout.TotalSeconds:0} s (a blackholed link, or a hung server)")
                : $"{exception.Message.TrimEnd('.')} (the connection was refused or closed before a TLS handshake: server down, or link cut)";
        }
    }

    private static bool IssuedBy(X509Certificate certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = new X509Certificate2(certificate);
        return chain.Build(presented);
    }

    private static void Issue(string directory, string name, X509Certificate2 ca, DateTimeOffset now, int serial, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(server ? [ServerAuth, ClientAuth] : [ClientAuth], false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName(name);
            request.CertificateExtensions.Add(names.Build());
        }

        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var certificate = request.Create(ca, now.AddHours(-1), now.AddDays(30), BitConverter.GetBytes(serial).Reverse().ToArray());
        File.WriteAllText(CertFile(directory, name), certificate.ExportCertificatePem());
        var keyFile = KeyFile(directory, name);
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}

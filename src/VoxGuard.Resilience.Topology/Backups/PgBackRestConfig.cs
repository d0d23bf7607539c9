using System.Globalization;
using System.Text;
using VoxGuard.Resilience.Topology.DataTier;
using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Backups;

/// <summary>
/// Where pgBackRest keeps its files in a run, and the text of its three configurations per region: the database host's
/// (its PostgreSQL local, every repository through its region's TLS server), the repository host's (the repositories of
/// that region local, every PostgreSQL through its region's TLS server) and the TLS server's own. Every other host is a
/// <see cref="RegionHosts.PgBackRest"/> name, so a command in one region reaches another only through a link.
/// </summary>
internal sealed class PgBackRestConfig
{
    /// <summary>
    /// How long pgBackRest waits on a silent peer; a refused connection is retried for twice this (docs/measured-facts.md,
    /// "pgBackRest retries a refused connection").
    /// </summary>
    public const int IoTimeoutSeconds = 5;

    private readonly EnvironmentDefinition _environment;
    private readonly RunDirectory _run;

    public PgBackRestConfig(EnvironmentDefinition environment, RunDirectory run)
    {
        _environment = environment;
        _run = run;
        Root = run.PathOf("pgbackrest");
        Stores = new BackupStores(environment, run);
    }

    /// <summary>Everything pgBackRest writes in the run except the repositories (owned by postgres).</summary>
    public string Root { get; }

    public string TlsDirectory => Path.Combine(Root, "tls");

    /// <summary>
    /// While this file exists, <c>archive_command</c> pushes WAL to the repositories; while it does not, the command lets
    /// the segment go (exit 0), as archive_mode off would. Open from the stanza's creation with continuous archiving,
    /// only during backups without it.
    /// </summary>
    public string ArchiveGate => Path.Combine(Root, "archiving");

    public string RegionDirectory(string region) => Path.Combine(Root, region);

    public string DatabaseHostConfig(string region) => Path.Combine(Root, $"{region}-db.conf");

    public string RepositoryHostConfig(string region) => Path.Combine(Root, $"{region}-repo.conf");

    public string ServerConfig(string region) => Path.Combine(Root, $"{region}-server.conf");

    /// <summary>The repositories on disk.</summary>
    public BackupStores Stores { get; }

    /// <summary>pgBackRest's repository inside a store.</summary>
    public string PgBackRestRepositoryOf(BackupRepositoryDefinition repository) => Path.Combine(Stores.StoreOf(repository), "pgbackrest");

    /// <summary>The archive_command of a region's node.</summary>
    public string ArchiveCommand(string region) =>
        $"[ ! -e '{ArchiveGate}' ] || pgbackrest --config='{DatabaseHostConfig(region)}' --stanza={PostgresBackups.Stanza} archive-push \"%p\"";

    /// <summary>The database host of <paramref name="region"/>: its PostgreSQL local, every repository remote.</summary>
    public string DatabaseHostText(RegionDefinition region)
    {
        var text = Header($"{region.Name}'s database host: its PostgreSQL local, every repository through its region's TLS server");
        Common(text, region.Name);
        // A restore fails at the first file whose checksum does not match instead of retrying it (docs/measured-facts.md,
        // "pgBackRest restore: a checksum error is retried": 38 s to the error otherwise).
        text.AppendLine("job-retry=0");
        foreach (var repository in _environment.Backups.Repositories)
        {
            var host = _environment.Region(repository.Region);
            var key = $"repo{repository.Index}";
            Remote(text, key, host, RepositoryHostConfig(host.Name));
        }

        text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"[{PostgresBackups.Stanza}]");
        Local(text, "pg1", region);
        return text.ToString();
    }

    /// <summary>
    /// The repository host of <paramref name="region"/>: its repositories local, and <paramref name="primary"/>'s
    /// PostgreSQL (the one a backup copies) remote. Only the primary: with the standbys listed too, pgBackRest 2.45 sends
    /// each of them a keep-alive after every file it copies, one link round trip per standby and file (a 982-file full
    /// took 54 s through 20 and 30 ms links instead of 2.8 s: docs/measured-facts.md, "pgBackRest with standbys listed").
    /// </summary>
    public string RepositoryHostText(RegionDefinition region, RegionDefinition primary)
    {
        var text = Header($"{region.Name}'s repository host: its repositories local, the primary ({primary.Name}) through its region's TLS server");
        Common(text, region.Name);
        text.AppendLine("start-fast=y");
        // Files are copied four at a time: a copy waits a link round trip per file, so through a 20 ms link one at a
        // time a 982-file full took 44 s (docs/measured-facts.md, "pgBackRest through a link").
        text.AppendLine("process-max=4");
        // Each backup carries the WAL it needs to be consistent: without continuous archiving that is all there is.
        text.AppendLine("archive-copy=y");
        text.AppendLine("archive-timeout=60");
        foreach (var repository in _environment.Backups.Repositories.Where(repository => repository.Region == region.Name))
        {
            var key = $"repo{repository.Index}";
            text.AppendLine(CultureInfo.InvariantCulture, $"{key}-path={PgBackRestRepositoryOf(repository)}");
            text.AppendLine(CultureInfo.InvariantCulture, $"{key}-retention-full-type=time");
            text.AppendLine(CultureInfo.InvariantCulture, $"{key}-retention-full={_environment.Backups.Retention.OnlineDays}");
        }

        text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"[{PostgresBackups.Stanza}]");
        Remote(text, "pg1", primary, DatabaseHostConfig(primary.Name));
        Local(text, "pg1", primary);
        return text.ToString();
    }

    /// <summary>
    /// The time-based retentions a pgBackRest configuration sets: each <c>repoN</c> whose <c>repoN-retention-full-type</c>
    /// is <c>time</c>, with its <c>repoN-retention-full</c> in days.
    /// </summary>
    public static IEnumerable<(string Repository, int Days)> TimeRetentionIn(string configText)
    {
        ArgumentNullException.ThrowIfNull(configText);
        var settings = configText.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#') && !line.StartsWith('[') && line.Contains('=', StringComparison.Ordinal))
            .Select(line => (Key: line[..line.IndexOf('=', StringComparison.Ordinal)].Trim(), Value: line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..].Trim()))
            .GroupBy(setting => setting.Key, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.Last().Value, StringComparer.Ordinal);
        foreach (var (key, value) in settings)
        {
            const string suffix = "-retention-full";
            if (key.StartsWith("repo", StringComparison.Ordinal) && key.EndsWith(suffix, StringComparison.Ordinal)
                && settings.GetValueOrDefault(key + "-type") == "time"
                && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var days))
            {
                yield return (key[..^suffix.Length], days);
            }
        }
    }

    /// <summary>The TLS server of <paramref name="region"/>'s database host.</summary>
    public string ServerText(RegionDefinition region)
    {
        var text = Header($"{region.Name}'s pgBackRest TLS server (database host, and repository host of its region's repositories)");
        text.AppendLine(CultureInfo.InvariantCulture, $"log-path={Path.Combine(RegionDirectory(region.Name), "log")}");
        text.AppendLine("log-level-console=warn");
        text.AppendLine("log-level-stderr=off");
        text.AppendLine("log-level-file=off");
        text.AppendLine(CultureInfo.InvariantCulture, $"tls-server-address={region.PgBackRest.Address}");
        text.AppendLine(CultureInfo.InvariantCulture, $"tls-server-port={region.PgBackRest.Port}");
        var name = RegionHosts.PgBackRest(region.Name);
        text.AppendLine(CultureInfo.InvariantCulture, $"tls-server-cert-file={BackupTls.CertFile(TlsDirectory, name)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"tls-server-key-file={BackupTls.KeyFile(TlsDirectory, name)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"tls-server-ca-file={BackupTls.CaFile(TlsDirectory)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"tls-server-auth={BackupTls.ClientName}={PostgresBackups.Stanza}");
        return text.ToString();
    }

    private StringBuilder Header(string what) =>
        new StringBuilder().AppendLine(CultureInfo.InvariantCulture, $"# Written by VoxGuard.Resilience: {what} (environment {_environment.Name}).").AppendLine("[global]");

    private void Common(StringBuilder text, string region)
    {
        var directory = RegionDirectory(region);
        text.AppendLine(CultureInfo.InvariantCulture, $"log-path={Path.Combine(directory, "log")}");
        text.AppendLine(CultureInfo.InvariantCulture, $"lock-path={Path.Combine(directory, "lock")}");
        text.AppendLine(CultureInfo.InvariantCulture, $"spool-path={Path.Combine(directory, "spool")}");
        // Warnings and errors on stderr (the harness quotes them); results (--output) alone on stdout.
        text.AppendLine("log-level-console=off");
        text.AppendLine("log-level-stderr=warn");
        // Each command's own log in the run (region/log): evidence of what a drill's backup or restore did, and when.
        text.AppendLine("log-level-file=detail");
        text.AppendLine("compress-type=zst");
        text.AppendLine("compress-level=1");
        text.AppendLine(CultureInfo.InvariantCulture, $"io-timeout={IoTimeoutSeconds}");
    }

    private void Remote(StringBuilder text, string key, RegionDefinition host, string config)
    {
        text.AppendLine(CultureInfo.InvariantCulture, $"{key}-host={RegionHosts.PgBackRest(host.Name)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{key}-host-type=tls");
        text.AppendLine(CultureInfo.InvariantCulture, $"{key}-host-port={host.PgBackRest.Port}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{key}-host-config={config}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{key}-host-ca-file={BackupTls.CaFile(TlsDirectory)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{key}-host-cert-file={BackupTls.CertFile(TlsDirectory, BackupTls.ClientName)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{key}-host-key-file={BackupTls.KeyFile(TlsDirectory, BackupTls.ClientName)}");
    }

    private void Local(StringBuilder text, string key, RegionDefinition node)
    {
        text.AppendLine(CultureInfo.InvariantCulture, $"{key}-path={PostgresTier.DataDirectory(_run, node)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{key}-port={node.Postgres.Port}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{key}-socket-path={PostgresTier.SocketDirectory(_run, node)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{key}-user={PostgresTier.User}");
    }
}

using System.Text.Json;

namespace VoxGuard.Resilience.Topology.Backups;

/// <summary>pgBackRest's backup types.</summary>
public enum PgBackRestBackupType
{
    /// <summary>Every file of the cluster.</summary>
    Full,

    /// <summary>What changed since the last full backup.</summary>
    Differential,

    /// <summary>What changed since the last backup of any type (the guide's 6-hourly incremental).</summary>
    Incremental,
}

/// <summary>
/// What <c>pgbackrest info --output=json</c> says of the stanza: its status, each repository's status (reachable or
/// not), the backups of every repository and the WAL range each archive holds.
/// </summary>
/// <param name="StatusCode">0 ok, 1 missing stanza path, 2 no valid backups, 3 missing stanza data, 4 different across
/// repos, 99 other (pgBackRest's codes).</param>
/// <param name="StatusMessage">pgBackRest's words for it.</param>
/// <param name="Repositories">Each repository's own status.</param>
/// <param name="Backups">Every backup of every repository, oldest first per repository.</param>
/// <param name="Archives">The WAL each repository's archive holds.</param>
public sealed record PgBackRestInfo(
    int StatusCode,
    string StatusMessage,
    IReadOnlyList<PgBackRestRepositoryStatus> Repositories,
    IReadOnlyList<PgBackRestBackupSet> Backups,
    IReadOnlyList<PgBackRestArchive> Archives)
{
    /// <summary>The backups in repository <paramref name="key"/> (repo2 → 2), oldest first.</summary>
    public IReadOnlyList<PgBackRestBackupSet> BackupsIn(int key) => [.. Backups.Where(backup => backup.RepositoryKey == key)];

    /// <summary>The newest backup in repository <paramref name="key"/>, or null when it has none.</summary>
    public PgBackRestBackupSet? LatestIn(int key) => BackupsIn(key).MaxBy(backup => backup.Stopped);

    /// <summary>Reads pgBackRest's JSON (an array of stanzas) for <paramref name="stanza"/>.</summary>
    /// <exception cref="FormatException">The text is not pgBackRest's info JSON, or does not name the stanza.</exception>
    public static PgBackRestInfo Parse(string json, string stanza)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            foreach (var entry in document.RootElement.EnumerateArray())
            {
                if (entry.GetProperty("name").GetString() != stanza)
                {
                    continue;
                }

                var status = entry.GetProperty("status");
                return new PgBackRestInfo(
                    status.GetProperty("code").GetInt32(),
                    status.GetProperty("message").GetString() ?? string.Empty,
                    [.. Array(entry, "repo").Select(repo => new PgBackRestRepositoryStatus(
                        repo.GetProperty("key").GetInt32(),
                        repo.GetProperty("status").GetProperty("code").GetInt32(),
                        repo.GetProperty("status").GetProperty("message").GetString() ?? string.Empty))],
                    [.. Array(entry, "backup").Select(ReadBackup)],
                    [.. Array(entry, "archive").Select(archive => new PgBackRestArchive(
                        archive.GetProperty("database").GetProperty("repo-key").GetInt32(),
                        archive.GetProperty("id").GetString() ?? string.Empty,
                        StringOrNull(archive, "min"),
                        StringOrNull(archive, "max")))]);
            }
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"pgBackRest's info is not the JSON expected ({exception.Message.TrimEnd('.')}): {Clip(json)}", exception);
        }

        throw new FormatException($"pgBackRest's info names no stanza '{stanza}': {Clip(json)}");
    }

    private static PgBackRestBackupSet ReadBackup(JsonElement backup)
    {
        var info = backup.GetProperty("info");
        var repository = info.GetProperty("repository");
        var archive = backup.TryGetProperty("archive", out var range) && range.ValueKind == JsonValueKind.Object ? range : (JsonElement?)null;
        return new PgBackRestBackupSet(
            backup.GetProperty("label").GetString() ?? string.Empty,
            backup.GetProperty("type").GetString() switch
            {
                "full" => PgBackRestBackupType.Full,
                "diff" => PgBackRestBackupType.Differential,
                _ => PgBackRestBackupType.Incremental,
            },
            backup.GetProperty("database").GetProperty("repo-key").GetInt32(),
            DateTimeOffset.FromUnixTimeSeconds(backup.GetProperty("timestamp").GetProperty("start").GetInt64()),
            DateTimeOffset.FromUnixTimeSeconds(backup.GetProperty("timestamp").GetProperty("stop").GetInt64()),
            StringOrNull(backup, "prior"),
            backup.GetProperty("lsn").GetProperty("start").GetString() ?? string.Empty,
            backup.GetProperty("lsn").GetProperty("stop").GetString() ?? string.Empty,
            archive is { } a ? StringOrNull(a, "start") : null,
            archive is { } b ? StringOrNull(b, "stop") : null,
            info.GetProperty("size").GetInt64(),
            repository.GetProperty("size").GetInt64(),
            repository.GetProperty("delta").GetInt64(),
            backup.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.True);
    }

    private static IEnumerable<JsonElement> Array(JsonElement element, string name) =>
        element.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array ? array.EnumerateArray() : [];

    private static string? StringOrNull(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Clip(string text) => text.Length <= 300 ? text : text[..300] + "…";
}

/// <summary>One repository as pgBackRest's info saw it.</summary>
/// <param name="Key">Its index (repo2 → 2).</param>
/// <param name="Code">0 ok, 1 missing stanza path, 2 no valid backups, 99 other (an unreachable host among them).</param>
/// <param name="Message">pgBackRest's words (e.g. "[HostConnectError] unable to connect to 'pgbackrest-abuja:8432'").</param>
public sealed record PgBackRestRepositoryStatus(int Key, int Code, string Message)
{
    /// <summary>Whether pgBackRest could not reach the repository's host.</summary>
    public bool IsUnreachable => Message.Contains("HostConnectError", StringComparison.Ordinal) || Message.Contains("unable to connect", StringComparison.Ordinal);
}

/// <summary>One backup in a repository.</summary>
/// <param name="Label">pgBackRest's label (20261204-082412F, 20261204-082412F_20261204-082420I).</param>
/// <param name="Type">Full, differential or incremental.</param>
/// <param name="RepositoryKey">The repository it is in (repo1 → 1).</param>
/// <param name="Started">When it started (whole seconds).</param>
/// <param name="Stopped">When it ended: the latest moment it can restore to without archived WAL.</param>
/// <param name="Prior">The backup it depends on (differential, incremental), or null.</param>
/// <param name="StartLsn">WAL position at its start.</param>
/// <param name="StopLsn">WAL position at its end: a restore without archived WAL recovers exactly to here.</param>
/// <param name="ArchiveStart">The first WAL segment it needs.</param>
/// <param name="ArchiveStop">The last WAL segment it needs.</param>
/// <param name="Size">The cluster's size it covers, bytes.</param>
/// <param name="RepositorySize">What it takes in the repository with what it refers to, compressed, bytes.</param>
/// <param name="RepositoryDelta">What it added to the repository, compressed, bytes.</param>
/// <param name="Error">Whether pgBackRest found page checksum errors while copying it.</param>
public sealed record PgBackRestBackupSet(
    string Label,
    PgBackRestBackupType Type,
    int RepositoryKey,
    DateTimeOffset Started,
    DateTimeOffset Stopped,
    string? Prior,
    string StartLsn,
    string StopLsn,
    string? ArchiveStart,
    string? ArchiveStop,
    long Size,
    long RepositorySize,
    long RepositoryDelta,
    bool Error);

/// <summary>The WAL one repository's archive holds.</summary>
/// <param name="RepositoryKey">The repository (repo1 → 1).</param>
/// <param name="Id">The archive id (PostgreSQL version and database id, e.g. 15-1).</param>
/// <param name="Min">The oldest segment held, or null when none.</param>
/// <param name="Max">The newest segment held: a restore to the end of the archive replays up to it.</param>
public sealed record PgBackRestArchive(int RepositoryKey, string Id, string? Min, string? Max);

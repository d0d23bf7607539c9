using System.Globalization;

namespace VoxGuard.Resilience.Topology.Backups;

/// <summary>How far a restored PostgreSQL replays WAL.</summary>
public enum RecoveryTargetKind
{
    /// <summary>To the end of the archived WAL (pgBackRest's default): as late as the repository allows.</summary>
    EndOfArchive,

    /// <summary>Only until the backup is consistent: what a backup alone gives, without archived WAL.</summary>
    Immediate,

    /// <summary>Up to a point in time (pgBackRest <c>--type=time</c>), then promoted.</summary>
    Time,
}

/// <summary>Where a restore stops replaying WAL.</summary>
/// <param name="Kind">End of archive, backup end, or a time.</param>
/// <param name="Time">The time, for <see cref="RecoveryTargetKind.Time"/>.</param>
public sealed record RecoveryTarget(RecoveryTargetKind Kind, DateTimeOffset? Time = null)
{
    /// <summary>Replay every archived segment.</summary>
    public static RecoveryTarget EndOfArchive { get; } = new(RecoveryTargetKind.EndOfArchive);

    /// <summary>Stop once the backup is consistent.</summary>
    public static RecoveryTarget Immediate { get; } = new(RecoveryTargetKind.Immediate);

    /// <summary>Stop at <paramref name="time"/> (commits after it are not replayed).</summary>
    public static RecoveryTarget At(DateTimeOffset time) => new(RecoveryTargetKind.Time, time);

    /// <summary>pgBackRest's restore options for this target.</summary>
    internal IReadOnlyList<string> Options => Kind switch
    {
        RecoveryTargetKind.Immediate => ["--type=immediate", "--target-action=promote"],
        RecoveryTargetKind.Time => ["--type=time", string.Create(CultureInfo.InvariantCulture, $"--target={Time!.Value.UtcDateTime:yyyy-MM-dd HH:mm:ss.ffffff}+00"), "--target-action=promote"],
        _ => [],
    };

    public override string ToString() => Kind switch
    {
        RecoveryTargetKind.Immediate => "the backup's end (no archived WAL)",
        RecoveryTargetKind.Time => string.Create(CultureInfo.InvariantCulture, $"{Time!.Value.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff} UTC"),
        _ => "the end of the archived WAL",
    };
}

/// <summary>A restore to make: from which repository and backup, into which fresh directory, replaying how far.</summary>
/// <param name="Region">The region the restore runs in (its database host's configuration; other regions' repositories
/// through its links).</param>
/// <param name="DataDirectory">A fresh directory (absent or empty; an absolute path) to restore into.</param>
public sealed record PostgresRestoreRequest(string Region, string DataDirectory)
{
    /// <summary>The repository (repo1, repo2); null: pgBackRest's choice, the first holding a backup for the target.</summary>
    public string? Repository { get; init; }

    /// <summary>A backup label; null: the latest.</summary>
    public string? Set { get; init; }

    /// <summary>How far to replay WAL (default: the end of the archive).</summary>
    public RecoveryTarget Target { get; init; } = RecoveryTarget.EndOfArchive;
}

/// <summary>A data directory pgBackRest restored (not started yet: <see cref="RestoredPostgres.StartAsync"/>).</summary>
/// <param name="Region">Where the restore ran.</param>
/// <param name="DataDirectory">The restored PGDATA.</param>
/// <param name="Repository">The repository restored from, when one was asked for.</param>
/// <param name="Set">The backup restored (the latest when none was asked for).</param>
/// <param name="Target">How far PostgreSQL will replay when started.</param>
/// <param name="Elapsed">How long pgBackRest's restore took.</param>
public sealed record PostgresRestore(string Region, string DataDirectory, string? Repository, string? Set, RecoveryTarget Target, TimeSpan Elapsed);

/// <summary>A backup taken: what pgBackRest recorded, and how long the command took.</summary>
/// <param name="Repository">Where it went (repo1, repo2).</param>
/// <param name="Set">pgBackRest's record of it.</param>
/// <param name="Elapsed">How long the backup command took, wall clock.</param>
public sealed record PostgresBackup(string Repository, PgBackRestBackupSet Set, TimeSpan Elapsed);

/// <summary>What <c>pgbackrest verify</c> found in one repository.</summary>
/// <param name="Repository">The repository checked.</param>
/// <param name="IsValid">True when every backup and archived segment matches its checksum.</param>
/// <param name="InvalidBackups">The labels of backups with a damaged or missing file.</param>
/// <param name="Report">pgBackRest's own report, line by line.</param>
public sealed record PgBackRestVerification(string Repository, bool IsValid, IReadOnlyList<string> InvalidBackups, IReadOnlyList<string> Report);

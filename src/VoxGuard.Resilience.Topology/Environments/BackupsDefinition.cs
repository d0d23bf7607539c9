namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>
/// The deployment guide's backup strategy (Disaster Recovery → Backup Strategy) as the harness runs it: the schedule
/// (full daily at 02:00 WAT, incremental every 6 h), continuous WAL archiving and its <c>archive_timeout</c>, retention
/// (30 days online, 7 years archived), the repositories (object storage in Lagos with a replica in Abuja), Redis's
/// persistence, and how much faster than real time a drill runs the schedule. The guide's own values when the file
/// has no <c>backups</c> section (<see cref="GuideDefaults"/>).
/// </summary>
/// <param name="Full">When full backups run.</param>
/// <param name="Incremental">When incremental backups run (between fulls).</param>
/// <param name="UtcOffset">The schedule's clock: WAT is UTC+1 all year (no daylight saving).</param>
/// <param name="WalArchiving">
/// Continuous WAL archiving: every WAL segment goes to the repositories as PostgreSQL completes it (pgBackRest's
/// <c>archive-push</c> as <c>archive_command</c>), so a restore replays up to the last archived segment. Off: the
/// repositories hold only the WAL each backup needs to be consistent, and a restore ends where the backup ended.
/// </param>
/// <param name="ArchiveTimeout">PostgreSQL's <c>archive_timeout</c>: a segment is switched (and archived) at least this
/// often when there are writes, which bounds what an archive-based restore can lose. 0 never forces a switch.</param>
/// <param name="Retention">How long backups are kept.</param>
/// <param name="Repositories">Where backups go, in pgBackRest's repository order (repo1 first).</param>
/// <param name="Redis">Redis's persistence settings.</param>
/// <param name="TimeCompression">How many times faster than real time a drill runs the schedule (1: real time; 5400: a
/// day in 16 s, the 6 h incremental every 4 s). Drills say so in their output.</param>
public sealed record BackupsDefinition(
    BackupInterval Full,
    BackupInterval Incremental,
    TimeSpan UtcOffset,
    bool WalArchiving,
    TimeSpan ArchiveTimeout,
    BackupRetention Retention,
    IReadOnlyList<BackupRepositoryDefinition> Repositories,
    RedisPersistence Redis,
    double TimeCompression)
{
    /// <summary>
    /// The shortest a compressed interval may be: a full backup into repo1 takes 2.6–3.6 s on this kind of machine
    /// (docs/measured-facts.md, "pgBackRest through a link"), and a backup due while the previous one still runs would be
    /// refused (pgBackRest holds a lock per stanza).
    /// </summary>
    public static readonly TimeSpan MinimumCompressedInterval = TimeSpan.FromSeconds(4);

    /// <summary>
    /// Whether <c>./resilience up</c> runs the backups with the topology: pgBackRest's TLS servers, WAL archiving into the
    /// repositories from the start, the stanza checked, and the game-day commands <c>backup</c> and <c>restore</c>. The
    /// file's <c>enabled</c> key; true when the file has a <c>backups</c> section and leaves it out, false without the section
    /// (<see cref="GuideDefaults"/>). Scenarios ask for backups themselves (<c>LocalTopologyOptions.Backups</c>).
    /// </summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The guide's retention: 30 days online, 7 years archived (the NCC's "7-year retention" item).</summary>
    public static BackupRetention GuideRetention { get; } = new(30, 7);

    /// <summary>
    /// The guide's strategy on the environment's regions: repo1 in the primary region, repo2 in the first replica; not
    /// <see cref="Enabled"/> for <c>up</c> (a file without a <c>backups</c> section runs none).
    /// </summary>
    public static BackupsDefinition GuideDefaults(IReadOnlyList<RegionDefinition> regions)
    {
        ArgumentNullException.ThrowIfNull(regions);
        var primary = regions.FirstOrDefault(region => region.IsPrimary) ?? regions.FirstOrDefault();
        var replica = regions.Where(region => !region.IsPrimary).OrderBy(region => region.Priority).FirstOrDefault();
        var repositories = new List<BackupRepositoryDefinition>();
        if (primary is not null)
        {
            repositories.Add(new BackupRepositoryDefinition("repo1", primary.Name, null));
        }

        if (replica is not null)
        {
            repositories.Add(new BackupRepositoryDefinition($"repo{repositories.Count + 1}", replica.Name, null));
        }

        return new BackupsDefinition(
            new BackupInterval(TimeSpan.FromHours(24), new TimeOnly(2, 0)),
            new BackupInterval(TimeSpan.FromHours(6), null),
            TimeSpan.FromHours(1),
            WalArchiving: true,
            ArchiveTimeout: TimeSpan.FromSeconds(60),
            GuideRetention,
            repositories,
            new RedisPersistence(AppendOnly: false, RedisAppendFsync.EverySec),
            TimeCompression: 1)
        {
            Enabled = false,
        };
    }

    /// <summary>How long <paramref name="guideTime"/> of the schedule lasts in a drill (divided by <see cref="TimeCompression"/>).</summary>
    public TimeSpan Compress(TimeSpan guideTime) => guideTime / TimeCompression;

    /// <summary>A day of the schedule in a drill's real time (24 h at 1×, 16 s at 5400×).</summary>
    public TimeSpan CompressedDay => Compress(TimeSpan.FromDays(1));

    /// <summary>The repository of that name (repo1, repo2), or null.</summary>
    public BackupRepositoryDefinition? Repository(string name) =>
        Repositories.FirstOrDefault(repository => string.Equals(repository.Name, name, StringComparison.Ordinal));

    /// <summary>
    /// Whether archiving can keep what a restore loses under <paramref name="rpo"/>: archiving is on and PostgreSQL
    /// switches segments at least that often. False is a finding a drill reports (the schedule alone loses up to an
    /// interval of writes), not an error.
    /// </summary>
    public bool ArchivingCanMeet(TimeSpan rpo) => WalArchiving && ArchiveTimeout > TimeSpan.Zero && ArchiveTimeout < rpo;

    /// <summary>Whether the retention keeps at least what the guide asks (30 days online, 7 years archived).</summary>
    public bool RetentionMeetsGuide() =>
        Retention.OnlineDays >= GuideRetention.OnlineDays && Retention.ArchivedYears >= GuideRetention.ArchivedYears;
}

/// <summary>A recurring backup: every <paramref name="Every"/>, aligned on <paramref name="At"/> (schedule clock) when given.</summary>
/// <param name="Every">The interval (24 h for the guide's daily full).</param>
/// <param name="At">The time of day the series is aligned on (02:00); null aligns on midnight.</param>
public sealed record BackupInterval(TimeSpan Every, TimeOnly? At);

/// <summary>How long backups are kept: online in the repositories, then archived (the guide's cold storage).</summary>
/// <param name="OnlineDays">Days a full backup (and what depends on it) stays in the repositories (pgBackRest
/// <c>repo-retention-full-type=time</c>).</param>
/// <param name="ArchivedYears">Years a backup is kept in cold storage after that (the NCC's 7 years). pgBackRest has no
/// cold tier: this is what the drill reports against the checklist.</param>
public sealed record BackupRetention(int OnlineDays, int ArchivedYears);

/// <summary>One backup repository: the guide's object storage in a region.</summary>
/// <param name="Name">pgBackRest's name for it: repo1, repo2, … (its index).</param>
/// <param name="Region">The region it is in; other regions reach it only through their links.</param>
/// <param name="Path">Where it lives on disk; null: in the run directory (thrown away with the run).</param>
public sealed record BackupRepositoryDefinition(string Name, string Region, string? Path)
{
    /// <summary>pgBackRest's index of the repository (2 for repo2), or 0 when the name is not repoN.</summary>
    public int Index =>
        Name.StartsWith("repo", StringComparison.Ordinal)
        && int.TryParse(Name.AsSpan(4), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
            ? index
            : 0;
}

/// <summary>Redis persistence beyond the guide's BGSAVE snapshots.</summary>
/// <param name="AppendOnly">The append-only file (<c>appendonly yes</c>): every write logged, so a restore loses at most
/// about a second with <see cref="RedisAppendFsync.EverySec"/> — the setting that can meet an RPO under a minute.</param>
/// <param name="AppendFsync">How often the AOF is flushed to disk.</param>
public sealed record RedisPersistence(bool AppendOnly, RedisAppendFsync AppendFsync);

/// <summary>Redis's <c>appendfsync</c>.</summary>
public enum RedisAppendFsync
{
    /// <summary><c>always</c>: after every write.</summary>
    Always,

    /// <summary><c>everysec</c>: once a second (Redis's default).</summary>
    EverySec,

    /// <summary><c>no</c>: when the operating system flushes.</summary>
    No,
}

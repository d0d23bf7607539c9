using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Tests.Support;

namespace VoxGuard.Resilience.Topology.Tests.Environments;

/// <summary>
/// The environment's <c>backups</c> section: the guide's strategy when it is absent, local.yaml's values and its profiles'
/// time compression, and one message naming every problem when it is wrong.
/// </summary>
[TestFixture]
public sealed class BackupsSectionTests
{
    private static readonly string WithBackups = TinyEnvironment.With("profiles:", "backups: {}\nprofiles:");

    [Test]
    public void Without_a_backups_section_the_guides_strategy_applies_on_the_environments_regions()
    {
        var backups = TinyEnvironment.Parse(TinyEnvironment.Yaml).Backups;

        Assert.Multiple(() =>
        {
            Assert.That(backups.Full, Is.EqualTo(new BackupInterval(TimeSpan.FromHours(24), new TimeOnly(2, 0))), "full daily at 02:00");
            Assert.That(backups.Incremental.Every, Is.EqualTo(TimeSpan.FromHours(6)));
            Assert.That(backups.UtcOffset, Is.EqualTo(TimeSpan.FromHours(1)), "WAT");
            Assert.That(backups.Retention, Is.EqualTo(new BackupRetention(30, 7)));
            Assert.That(backups.Repositories, Is.EqualTo(new[] { new BackupRepositoryDefinition("repo1", "lagos", null), new BackupRepositoryDefinition("repo2", "abuja", null) }),
                "object storage in the primary region, its replica in the first replica region");
            Assert.That(backups.WalArchiving, Is.True);
            Assert.That(backups.ArchiveTimeout, Is.EqualTo(TimeSpan.FromSeconds(60)));
            Assert.That(backups.Redis, Is.EqualTo(new RedisPersistence(false, RedisAppendFsync.EverySec)));
            Assert.That(backups.TimeCompression, Is.EqualTo(1));
            Assert.That(backups.RetentionMeetsGuide(), Is.True);
            Assert.That(backups.Enabled, Is.False, "./resilience up runs no backups without the section");
        });
    }

    [Test]
    public void A_backups_section_turns_them_on_for_up_unless_it_says_enabled_false()
    {
        var section = TinyEnvironment.Parse(WithBackups).Backups;
        var off = TinyEnvironment.Parse(TinyEnvironment.With(WithBackups, "backups: {}", "backups: { enabled: false }")).Backups;
        var local = new EnvironmentLoader(RepositoryRoot.Environments).Load("local", "ci").Backups;

        Assert.Multiple(() =>
        {
            Assert.That(section.Enabled, Is.True);
            Assert.That(off.Enabled, Is.False);
            Assert.That(local.Enabled, Is.True, "local.yaml runs them with up");
        });
    }

    [Test]
    public void Local_yaml_states_the_guides_schedule_and_its_profiles_compress_a_day_for_drills()
    {
        var loader = new EnvironmentLoader(RepositoryRoot.Environments);
        var documented = loader.Load("local", "documented").Backups;
        var ci = loader.Load("local", "ci").Backups;

        Assert.Multiple(() =>
        {
            Assert.That(documented.Repositories.Select(repository => $"{repository.Name}@{repository.Region}"), Is.EqualTo(new[] { "repo1@lagos", "repo2@abuja" }));
            Assert.That(documented.Full.At, Is.EqualTo(new TimeOnly(2, 0)));
            Assert.That(documented.CompressedDay, Is.EqualTo(TimeSpan.FromSeconds(30)), "documented: a day in 30 s");
            Assert.That(ci.CompressedDay, Is.EqualTo(TimeSpan.FromSeconds(16)), "ci: a day in 16 s");
            Assert.That(ci.Compress(ci.Incremental.Every), Is.EqualTo(TimeSpan.FromSeconds(4)), "the 6 h incremental every 4 s");
            Assert.That(ci.ArchiveTimeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(documented.ArchivingCanMeet(TimeSpan.FromMinutes(1)), Is.False, "archive_timeout 60 s is not under the 1 min RPO");
            Assert.That(ci.ArchivingCanMeet(TimeSpan.FromMinutes(1)), Is.True);
        });
    }

    [Test]
    public void Every_key_can_be_set_and_the_rest_keeps_the_guides_values()
    {
        var backups = TinyEnvironment.Parse(TinyEnvironment.With(WithBackups, "backups: {}",
            "backups:\n  full: { every: 12h, at: \"03:30\" }\n  wal_archiving: false\n  archive_timeout: 10s\n  retention: { online_days: 7, archived_years: 1 }\n"
            + "  repositories: [{ name: repo1, region: asaba, path: /srv/backups/asaba }]\n  redis: { appendonly: true, appendfsync: always }\n  time_compression: 1440")).Backups;

        Assert.Multiple(() =>
        {
            Assert.That(backups.Full, Is.EqualTo(new BackupInterval(TimeSpan.FromHours(12), new TimeOnly(3, 30))));
            Assert.That(backups.Incremental.Every, Is.EqualTo(TimeSpan.FromHours(6)), "left out: the guide's");
            Assert.That(backups.WalArchiving, Is.False);
            Assert.That(backups.ArchiveTimeout, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(backups.Repositories.Single(), Is.EqualTo(new BackupRepositoryDefinition("repo1", "asaba", "/srv/backups/asaba")));
            Assert.That(backups.Redis, Is.EqualTo(new RedisPersistence(true, RedisAppendFsync.Always)));
            Assert.That(backups.CompressedDay, Is.EqualTo(TimeSpan.FromMinutes(1)));
            Assert.That(backups.RetentionMeetsGuide(), Is.False, "7 days / 1 year is less than the guide's 30 days / 7 years");
        });
    }

    [Test]
    public void Every_problem_of_the_backups_section_is_named_in_one_message()
    {
        var yaml = TinyEnvironment.With(WithBackups, "backups: {}",
            "backups:\n  full: { every: 24h, at: \"2am\" }\n  incremental: { every: 48h }\n  archive_timeout: 1500ms\n  retention: { online_days: 0, archived_years: -1 }\n"
            + "  repositories: [{ name: repo1, region: lagos }, { name: repo1, region: tokyo, path: relative/dir }, { name: store, region: abuja }]\n"
            + "  redis: { appendfsync: sometimes }\n  colour: blue");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.Multiple(() =>
        {
            Assert.That(error.Problems, Has.Some.StartWith("backups.colour is not a known key (known: enabled, full, incremental, utc_offset, wal_archiving, archive_timeout, retention, repositories, redis, time_compression)"));
            Assert.That(error.Problems, Has.Some.StartWith("backups.full.at '2am' is not a time of day; write it as HH:MM"));
            Assert.That(error.Problems, Has.Some.StartWith("backups.incremental.every is 48h, longer than the full interval 24h; an incremental would never run"));
            Assert.That(error.Problems, Has.Some.StartWith("backups.archive_timeout is 1500ms; PostgreSQL takes whole seconds"));
            Assert.That(error.Problems, Has.Some.StartWith("backups.retention.online_days must be 1 or more"));
            Assert.That(error.Problems, Has.Some.StartWith("backups.retention.archived_years must be 0 or more"));
            Assert.That(error.Problems, Has.Some.StartWith("backups.repositories[1].name 'repo1' is already the name of backups.repositories[0]"));
            Assert.That(error.Problems, Has.Some.StartWith("backups.repositories[1].region 'tokyo' is not a region (known: lagos, abuja, asaba)"));
            Assert.That(error.Problems, Has.Some.StartWith("backups.repositories[1].path 'relative/dir' must be an absolute path"));
            Assert.That(error.Problems, Has.Some.StartWith("backups.repositories[2].name 'store' must be repo1 … repo256"));
            Assert.That(error.Problems, Has.Some.StartWith("backups.redis.appendfsync 'sometimes' must be one of: always, everysec, no"));
            Assert.That(error.Problems, Has.Count.EqualTo(11));
        });
    }

    [Test]
    public void A_compression_that_would_start_backups_faster_than_one_can_run_is_refused_with_the_largest_allowed()
    {
        var yaml = TinyEnvironment.With(WithBackups, "backups: {}", "backups: { time_compression: 86400 }");

        var error = TinyEnvironment.Refuse(yaml);

        Assert.That(error.Problems, Is.EqualTo(new[]
        {
            $"backups.time_compression 86400 runs a backup every 250ms; a full backup takes 2.6–3.6 s here, so keep every compressed interval at 4s or more (time_compression 5400 at most) (line {TinyEnvironment.LineOf(yaml, "time_compression")}, column 30)",
        }));
    }

    [Test]
    public void A_profile_can_override_the_backups_section_and_its_mistakes_are_reported_on_any_run()
    {
        var yaml = TinyEnvironment.With(WithBackups, "    database: { ttl: 20s, loop_wait: 1s, retry_timeout: 3s }",
            "    database: { ttl: 20s, loop_wait: 1s, retry_timeout: 3s }\n    backups: { time_compression: 0.5 }");

        var error = TinyEnvironment.Refuse(yaml, "documented");

        Assert.That(error.Problems.Single(), Does.StartWith("backups.time_compression is 0.5; a factor of 1 (real time) or more").And.EndWith("in profile 'ci')"));
    }

    [Test]
    public void Each_database_host_serves_pgbackrest_on_its_postgres_address_unless_the_file_says_otherwise()
    {
        var environment = TinyEnvironment.Parse(TinyEnvironment.With("postgres: { address: 127.0.2.4, port: 5432 } }",
            "postgres: { address: 127.0.2.4, port: 5432 }, pgbackrest: { address: 127.0.2.6, port: 9432 } }"));

        Assert.Multiple(() =>
        {
            Assert.That(environment.Region("lagos").PgBackRest, Is.EqualTo(new ServiceEndpoint(System.Net.IPAddress.Parse("127.0.1.4"), 8432)), "pgBackRest's own default port");
            Assert.That(environment.Region("abuja").PgBackRest, Is.EqualTo(new ServiceEndpoint(System.Net.IPAddress.Parse("127.0.2.6"), 9432)));
            Assert.That(environment.ExpandLinks([RegionService.PgBackRest]).Select(link => link.Name), Is.EqualTo(new[] { "lagos-abuja-pgbackrest", "lagos-asaba-pgbackrest", "abuja-asaba-pgbackrest" }));
        });
    }
}

using System.CommandLine;
using VoxGuard.Resilience.Topology.Local;

namespace VoxGuard.Resilience.Cli.Commands;

/// <summary>
/// <c>backup</c> and <c>restore</c>: the game-day operator's backup tools on the topology <c>./resilience up</c> serves
/// (with the environment's backups on), through its control channel like <c>fault …</c>: one request, what was done and
/// when it was verified, exit 0; a request that cannot apply (no topology up, an unknown store, type or repository, a
/// malformed time, no backup yet, a repository out of reach, a corrupted backup) changes nothing and exits 2 with one
/// message naming the problem and the fix.
/// </summary>
internal static class BackupCommands
{
    public static IEnumerable<Command> Create() => [Backup(), Restore()];

    private static Command Backup()
    {
        var store = StoreOption();
        var type = new Option<string>("--type")
        {
            Description = "full, incr (since the last backup of any type: the guide's 6-hourly) or diff (since the last full); PostgreSQL only.",
            DefaultValueFactory = _ => "full",
        };
        var repository = RepositoryOption("The repository to back up into: repo1 (the guide's object storage in Lagos) or repo2 (its replica in Abuja).");
        var command = new Command(TopologyControlActions.Backup,
            "Take a backup now on the running topology (pgBackRest for PostgreSQL, BGSAVE + dump.rdb for Redis); prints each backup's label, size, duration and repository.")
        {
            store, type, repository,
        };
        return command.Sends(parseResult => TopologyControlRequest.BackUp(parseResult.GetValue(store)!, parseResult.GetValue(type)!, parseResult.GetValue(repository)!));
    }

    private static Command Restore()
    {
        var store = StoreOption();
        var repository = RepositoryOption("The repository to restore from (the restore runs in its region): repo1 or repo2.");
        var targetTime = new Option<string?>("--target-time")
        {
            Description = "Replay archived WAL up to this time, ISO 8601 (2026-12-04T13:05:00Z; UTC when no offset is given); default: everything archived.",
        };
        var command = new Command(TopologyControlActions.Restore,
            "Restore the latest backup (+ archived WAL) into new data directories and start it beside the topology on addresses of its own; prints row counts, checksums and the restored servers' addresses. They stop with ./resilience down.")
        {
            store, repository, targetTime,
        };
        return command.Sends(parseResult => TopologyControlRequest.RestoreCopy(parseResult.GetValue(store)!, parseResult.GetValue(repository)!, parseResult.GetValue(targetTime)));
    }

    private static Option<string> StoreOption() => new("--store")
    {
        Description = "postgres, redis or all.",
        DefaultValueFactory = _ => "all",
    };

    private static Option<string> RepositoryOption(string description) => new("--repo")
    {
        Description = description,
        DefaultValueFactory = _ => "repo1",
    };
}

using VoxGuard.Resilience.Topology.Environments;
using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Backups;

/// <summary>
/// The environment's backup repositories on disk: each the guide's object storage in one region, in the run directory
/// (backups/&lt;name&gt;) unless the environment names a path. pgBackRest keeps its repository in a store's pgbackrest
/// folder, the Redis backups go to its redis folder.
/// </summary>
internal sealed class BackupStores(EnvironmentDefinition environment, RunDirectory run)
{
    /// <summary>The repository of that name, or an error naming the known ones.</summary>
    public BackupRepositoryDefinition Repository(string name) =>
        environment.Backups.Repository(name)
        ?? throw new ArgumentException($"No backup repository '{name}' in environment {environment.Name} (known: {string.Join(", ", environment.Backups.Repositories.Select(repository => repository.Name))}).", nameof(name));

    /// <summary>Where a repository lives: its path from the environment, else backups/&lt;name&gt; in the run directory.</summary>
    public string StoreOf(BackupRepositoryDefinition repository) => repository.Path ?? run.PathOf(Path.Combine("backups", repository.Name));
}

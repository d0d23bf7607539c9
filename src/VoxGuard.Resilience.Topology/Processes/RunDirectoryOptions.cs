namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>Where a run keeps its files and how it ends; every property has a documented default.</summary>
public sealed class RunDirectoryOptions
{
    /// <summary>
    /// The folder holding one directory per run; abandoned runs in it are reaped when a run starts. Default
    /// <see cref="RunDirectory.DefaultRoot"/> (/dev/shm/voxguard-resilience, or /tmp/voxguard-resilience without /dev/shm).
    /// Must be an absolute path.
    /// </summary>
    public string? Root { get; init; }

    /// <summary>The clock for timestamps (run.json, <see cref="ProcessExit"/>). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// How long disposal lets each process exit after SIGTERM before SIGKILL. Default zero: SIGKILL at once (a run's
    /// data lives on tmpfs and is thrown away). Must not be negative.
    /// </summary>
    public TimeSpan DisposeGracePeriod { get; init; } = TimeSpan.Zero;

    /// <summary>Throws one <see cref="ArgumentException"/> listing every invalid setting.</summary>
    internal void Validate()
    {
        var problems = new List<string>();
        if (Root is not null && (Root.Length == 0 || !Path.IsPathRooted(Root)))
        {
            problems.Add($"root '{Root}' must be an absolute path");
        }

        if (TimeProvider is null)
        {
            problems.Add("timeProvider must not be null");
        }

        if (DisposeGracePeriod < TimeSpan.Zero)
        {
            problems.Add($"disposeGracePeriod {DisposeGracePeriod} must not be negative");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException($"Invalid run directory options: {string.Join("; ", problems)}.");
        }
    }
}

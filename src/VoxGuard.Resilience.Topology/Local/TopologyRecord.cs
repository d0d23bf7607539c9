using VoxGuard.Resilience.Topology.Processes;

namespace VoxGuard.Resilience.Topology.Local;

/// <summary>
/// topology.json in a run directory: which environment a running <c>up</c> serves, so that <c>status</c> and
/// <c>down</c> (other processes) can find it; status.json next to it is its latest snapshot.
/// </summary>
/// <param name="Environment">The environment's name.</param>
/// <param name="Profile">The profile applied.</param>
/// <param name="Source">The environment file.</param>
/// <param name="LinkApi">The link server's API address.</param>
/// <param name="Control">The control channel's address (<see cref="TopologyControlServer"/>), or null: still starting, or
/// written by a harness that had none (such records still read).</param>
/// <param name="ControlToken">The secret every control request carries, so that only someone who can read the run
/// directory (not a web page, not another user) drives the topology.</param>
/// <param name="Repositories">With backups on, each backup repository and where it lives ("repo1 (lagos): /dev/shm/…");
/// null when the topology runs without backups.</param>
/// <param name="EndpointNames">What the servers' logs mean by an address:port ("127.0.3.200:6379" → "asaba's Redis"),
/// for the events <c>status</c> reads from them; null in records written before it was kept.</param>
public sealed record TopologyRecord(string Environment, string? Profile, string Source, string LinkApi, string? Control = null, string? ControlToken = null,
    IReadOnlyList<string>? Repositories = null, IReadOnlyDictionary<string, string>? EndpointNames = null)
{
    /// <summary>The file name inside the run directory.</summary>
    public const string FileName = "topology.json";

    /// <summary>The status snapshot's file name inside the run directory.</summary>
    public const string StatusFileName = "status.json";

    /// <summary>Writes the record into the run directory, readable by its owner only (it may carry the control token).</summary>
    public void WriteTo(RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var path = run.PathOf(FileName);
        RunFiles.Write(path, this);
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    /// <summary>Writes a status snapshot into the run directory (atomically: readers never see half a file).</summary>
    public static void WriteStatus(RunDirectory run, TopologyStatus status)
    {
        ArgumentNullException.ThrowIfNull(run);
        RunFiles.Write(run.PathOf(StatusFileName), status);
    }

    /// <summary>The record of a run directory, or null when it has none (not a topology, or still starting).</summary>
    public static TopologyRecord? TryRead(string runDirectory) => RunFiles.TryRead<TopologyRecord>(Path.Combine(runDirectory, FileName));

    /// <summary>The latest status snapshot of a run directory, or null.</summary>
    public static TopologyStatus? TryReadStatus(string runDirectory) => RunFiles.TryRead<TopologyStatus>(Path.Combine(runDirectory, StatusFileName));
}

using System.Text.Json;

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>run.json: which harness owns a run directory, so that a later run can tell whether it is abandoned.</summary>
/// <param name="RunId">The directory's name.</param>
/// <param name="HarnessPid">The harness's PID.</param>
/// <param name="HarnessStartTime">The harness's start time (field 22 of /proc/self/stat, clock ticks after boot): a PID
/// reused by another process has another start time.</param>
/// <param name="CreatedAt">When the run began.</param>
/// <param name="BootId">The boot the PIDs and start times belong to.</param>
/// <param name="TemporaryDirectory">The harness's temporary directory, where its .NET runtime keeps the files a kill -9
/// leaves behind (<see cref="DotnetRuntimeFiles"/>); null in a run.json written before it was recorded.</param>
internal sealed record RunRecord(string RunId, int HarnessPid, ulong HarnessStartTime, DateTimeOffset CreatedAt, string? BootId, string? TemporaryDirectory = null);

/// <summary>&lt;name&gt;.pid: one server of a run, identified by PID and start time.</summary>
/// <param name="Name">The process's name in its run.</param>
/// <param name="Pid">Its PID, which is also its process group (setsid).</param>
/// <param name="StartTime">Field 22 of /proc/&lt;pid&gt;/stat when it started.</param>
/// <param name="BootId">The boot the PID and start time belong to.</param>
/// <param name="CommandLine">What was executed, wrappers included.</param>
/// <param name="RunAsUser">The user it runs as, or null for the harness's user.</param>
/// <param name="TemporaryDirectory">Its temporary directory (<see cref="DotnetRuntimeFiles"/>); null in a PID file
/// written before it was recorded.</param>
internal sealed record PidRecord(string Name, int Pid, ulong StartTime, string? BootId, IReadOnlyList<string> CommandLine, string? RunAsUser, string? TemporaryDirectory = null);

/// <summary>Reads and writes the JSON files of a run directory; writes are atomic (temporary file, then rename).</summary>
internal static class RunFiles
{
    public const string RunFileName = "run.json";
    public const string PidExtension = ".pid";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
    };

    public static string PidFile(string runDirectory, string name) => Path.Combine(runDirectory, name + PidExtension);

    public static void Write<T>(string path, T record)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(record, Json));
        File.Move(temporary, path, overwrite: true);
    }

    public static T? TryRead<T>(string path)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>The PID files of a run directory (not their temporary files).</summary>
    public static IEnumerable<string> PidFiles(string runDirectory) =>
        Directory.EnumerateFiles(runDirectory, "*" + PidExtension).Where(path => path.EndsWith(PidExtension, StringComparison.Ordinal));
}

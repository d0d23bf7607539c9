using System.Globalization;
using System.Text;

namespace VoxGuard.Resilience.Engine;

/// <summary>Which store a write went to.</summary>
public enum WriteStore
{
    /// <summary>The call event, in the current PostgreSQL primary.</summary>
    Postgres,

    /// <summary>The session state, in the current Redis master.</summary>
    Redis,
}

/// <summary>What happened to a write.</summary>
public enum WriteOutcome
{
    /// <summary>About to be sent: it may or may not reach the store.</summary>
    Attempted,

    /// <summary>The store confirmed the commit: losing it later is data loss.</summary>
    Acknowledged,

    /// <summary>The store refused it or did not answer: not acknowledged (it may still have been applied).</summary>
    Failed,
}

/// <summary>One line of a write log.</summary>
/// <param name="Outcome">Attempted, acknowledged or failed.</param>
/// <param name="Id">The write's unique id (also the row id / key suffix in the store).</param>
/// <param name="Store">Which store.</param>
/// <param name="Target">The region whose node the write was sent to.</param>
/// <param name="Timestamp">When (Stopwatch timestamp: CLOCK_MONOTONIC in nanoseconds on Linux, the same in every process).</param>
/// <param name="Detail">Why it failed, if it did.</param>
public sealed record WriteLogEntry(WriteOutcome Outcome, string Id, WriteStore Store, string Target, long Timestamp, string? Detail = null);

/// <summary>
/// The engine's append-only record of every write it attempted and every acknowledgement it received, the ground
/// truth RPO is measured against (Jepsen-style: acknowledged − read back = lost). One tab-separated line per event,
/// written straight to the file (no buffering in the process), so a SIGKILLed engine loses no line it wrote.
/// </summary>
public sealed class WriteLog : IDisposable
{
    private readonly FileStream _file;
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;

    private WriteLog(FileStream file, TimeProvider time)
    {
        _file = file;
        _time = time;
    }

    /// <summary>Opens (creating or appending to) a write log.</summary>
    public static WriteLog Open(string path, TimeProvider? time = null) =>
        new(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0), time ?? TimeProvider.System);

    /// <summary>Records an event now.</summary>
    public WriteLogEntry Record(WriteOutcome outcome, string id, WriteStore store, string target, string? detail = null)
    {
        var entry = new WriteLogEntry(outcome, id, store, target, _time.GetTimestamp(), detail);
        var line = Encoding.UTF8.GetBytes(Format(entry));
        lock (_gate)
        {
            _file.Write(line);
        }

        return entry;
    }

    /// <summary>Reads every complete line of a write log (a line cut short by a kill is skipped).</summary>
    public static IReadOnlyList<WriteLogEntry> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = reader.ReadToEnd();
        var complete = text.LastIndexOf('\n');
        return complete < 0 ? [] : [.. text[..complete].Split('\n').Select(Parse).OfType<WriteLogEntry>()];
    }

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();

    internal static string Format(WriteLogEntry entry) => string.Create(CultureInfo.InvariantCulture,
        $"{entry.Outcome}\t{entry.Id}\t{entry.Store}\t{entry.Target}\t{entry.Timestamp}\t{Sanitize(entry.Detail)}\n");

    internal static WriteLogEntry? Parse(string line)
    {
        var fields = line.Split('\t');
        return fields.Length == 6
            && Enum.TryParse<WriteOutcome>(fields[0], out var outcome)
            && Enum.TryParse<WriteStore>(fields[2], out var store)
            && long.TryParse(fields[4], NumberStyles.Integer, CultureInfo.InvariantCulture, out var timestamp)
            ? new WriteLogEntry(outcome, fields[1], store, fields[3], timestamp, fields[5].Length == 0 ? null : fields[5])
            : null;
    }

    private static string Sanitize(string? detail) =>
        detail is null ? string.Empty : detail.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');
}

using System.Globalization;
using System.Text;

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>One line of a server's log: when the harness read it (UTC), from which stream, and what it said.</summary>
/// <param name="At">When the harness read the line (the servers' own stamps differ in format, and some have none).</param>
/// <param name="Stream"><c>out</c> or <c>err</c>.</param>
/// <param name="Text">The line as the server wrote it.</param>
public readonly record struct ServerLogLine(DateTimeOffset At, string Stream, string Text);

/// <summary>
/// Every line a server writes, appended to <c>logs/&lt;name&gt;.log</c> in its run directory as
/// <c>2026-12-07T11:40:01.123Z err text</c>. The process keeps only its last 50 lines per stream in memory (for error
/// messages); a scenario's report needs all of its window (<see cref="ServerLogWindow"/>): one repeated complaint can push
/// a failover's few lines out of 50. A server started again under the same name appends to the same file, so one file
/// tells a region's story across a loss and a rejoin. Lines are flushed as they come (a server logs a few lines a
/// second), so what a reader finds is what the server said up to then. Each stream's lines keep their order; between
/// the two streams, the order is the one in which the harness read them (each pipe has its own reader). A file stops at 32 MiB (run directories live
/// in memory, in /dev/shm): a server that says that much is in a loop its first lines show, and a last line says so.
/// </summary>
internal sealed class ServerLog : IDisposable
{
    private const string FolderName = "logs";

    private const string Extension = ".log";
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
    private const long DefaultMaxBytes = 32L << 20;
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly Lock _gate = new();
    private readonly long _maxBytes;
    private StreamWriter? _writer;
    private long _bytes;

    private ServerLog(StreamWriter? writer, long bytes, long maxBytes)
    {
        _writer = writer;
        _bytes = bytes;
        _maxBytes = maxBytes;
    }

    /// <summary>The folder of <paramref name="runDirectory"/> that holds its servers' logs, one <c>&lt;server&gt;.log</c> each.</summary>
    public static string FolderOf(string runDirectory) => Path.Combine(runDirectory, FolderName);

    /// <summary>Opens (appending) the log of server <paramref name="name"/> in <paramref name="runDirectory"/>.</summary>
    /// <param name="runDirectory">The run directory.</param>
    /// <param name="name">The server's name in its run.</param>
    /// <param name="maxBytes">Where the file stops (32 MiB; smaller in tests).</param>
    public static ServerLog Open(string runDirectory, string name, long maxBytes = DefaultMaxBytes)
    {
        FileStream stream;
        try
        {
            // Owner only: a server may log what its configuration holds (a connection string, a password).
            var folder = FolderOf(runDirectory);
            Directory.CreateDirectory(folder);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            stream = new FileStream(Path.Combine(folder, name + Extension), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // A log is evidence, not what the server needs: it starts without one (its tails still hold its last lines).
            return new ServerLog(null, 0, maxBytes);
        }

        if (stream.Length >= maxBytes)
        {
            stream.Dispose(); // full before this start: its closing line is already there
            return new ServerLog(null, maxBytes, maxBytes);
        }

        return new ServerLog(new StreamWriter(stream, Utf8) { AutoFlush = true, NewLine = "\n" }, stream.Length, maxBytes);
    }

    /// <summary>The server each log file of <paramref name="runDirectory"/> belongs to, with its path.</summary>
    public static IEnumerable<(string Server, string Path)> FilesOf(string runDirectory)
    {
        var folder = FolderOf(runDirectory);
        return Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, "*" + Extension).Select(path => (Path.GetFileNameWithoutExtension(path), path))
            : [];
    }

    /// <summary>Appends one line; after <see cref="Dispose"/>, nothing.</summary>
    public void Write(DateTimeOffset at, string stream, string text)
    {
        lock (_gate)
        {
            try
            {
                if (_writer is null)
                {
                    return;
                }

                var line = Format(new ServerLogLine(at, stream, text));
                _writer.WriteLine(line);
                _bytes += Utf8.GetByteCount(line) + 1;
                if (_bytes >= _maxBytes)
                {
                    _writer.WriteLine(Format(new ServerLogLine(at, "err",
                        string.Create(CultureInfo.InvariantCulture, $"[voxguard-resilience] this log reached {_maxBytes} bytes: later lines are not kept (the server's last 50 per stream are in memory)"))));
                    _writer.Dispose();
                    _writer = null;
                }
            }
            catch (IOException)
            {
                // The run directory is going (the run ends) or its disk is full: the in-memory tails still hold the last lines.
                _writer = null;
            }
        }
    }

    /// <summary>Closes the file. Idempotent.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            try
            {
                _writer?.Dispose();
            }
            catch (IOException)
            {
                // Flushing into a directory being removed: nothing left to keep.
            }

            _writer = null;
        }
    }

    /// <summary>A line as it stands in the file.</summary>
    public static string Format(ServerLogLine line) =>
        string.Create(CultureInfo.InvariantCulture, $"{line.At.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture)} {line.Stream} {line.Text}");

    /// <summary>
    /// A line of the file read back; a line that does not start with a time and a stream (a server's line cut by the
    /// run's end) comes back whole as its text, at <paramref name="fallback"/>.
    /// </summary>
    public static ServerLogLine Parse(string line, DateTimeOffset fallback)
    {
        var parts = line.Split(' ', 3);
        return parts.Length >= 2
            && DateTimeOffset.TryParseExact(parts[0], TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            && parts[1] is "out" or "err"
                ? new ServerLogLine(at, parts[1], parts.Length == 3 ? parts[2] : string.Empty)
                : new ServerLogLine(fallback, "?", line);
    }
}

using System.Text;

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>What one server logged within a <see cref="ServerLogWindow"/>.</summary>
/// <param name="Server">The server's name in its run (e.g. abuja-patroni).</param>
/// <param name="Lines">Its lines, oldest first; when there were more than the window keeps, the first and the last of them.</param>
/// <param name="Omitted">How many lines between those were left out (0 when every line is here).</param>
/// <param name="OmittedAfter">How many of <see cref="Lines"/> come before the omitted ones.</param>
public sealed record ServerLogExcerpt(string Server, IReadOnlyList<ServerLogLine> Lines, long Omitted, int OmittedAfter);

/// <summary>
/// Every line the servers of a run log from the moment the window opens (a scenario's start) on, read from their log
/// files (<c>logs/&lt;name&gt;.log</c>): where each file ended at the opening is remembered, and reading starts there.
/// A server restarted under its name (a rejoined region's) appends to its file, read from there; a server whose file did
/// not exist at the opening (a restored one's) is read from its first line. A topology handed from scenario to scenario
/// keeps its files, so each scenario's window holds its own lines only.
/// </summary>
public sealed class ServerLogWindow
{
    private readonly string _runDirectory;
    private readonly Dictionary<string, long> _startOffsets;
    private readonly DateTimeOffset _openedAt;

    private ServerLogWindow(string runDirectory, Dictionary<string, long> startOffsets, DateTimeOffset openedAt)
    {
        _runDirectory = runDirectory;
        _startOffsets = startOffsets;
        _openedAt = openedAt;
    }

    /// <summary>The folder of <paramref name="runDirectory"/> that holds its servers' logs, one <c>&lt;server&gt;.log</c> each.</summary>
    public static string FolderOf(string runDirectory) => ServerLog.FolderOf(runDirectory);

    /// <summary>Opens a window on the logs of <paramref name="run"/> from now on.</summary>
    public static ServerLogWindow Open(RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (server, path) in ServerLog.FilesOf(run.Path))
        {
            offsets[server] = LengthOf(path);
        }

        return new ServerLogWindow(run.Path, offsets, DateTimeOffset.UtcNow);
    }

    /// <summary>A window on every line the servers of <paramref name="run"/> logged, from their first (a run started for the scenario).</summary>
    public static ServerLogWindow FromFirstLine(RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return FromFirstLine(run.Path);
    }

    /// <summary>A window on every line the servers of the run directory at <paramref name="runDirectory"/> logged (another process's run: <c>status</c>).</summary>
    public static ServerLogWindow FromFirstLine(string runDirectory) =>
        new(runDirectory, new Dictionary<string, long>(StringComparer.Ordinal), DateTimeOffset.UtcNow);

    /// <summary>
    /// Every server that logged since the window opened, by name, with its lines. A server with more than
    /// <paramref name="maxLinesPerServer"/> keeps its first quarter and its last three quarters (a failover is
    /// usually late in the window, a start early), and says how many lines between them were left out.
    /// </summary>
    public IReadOnlyList<ServerLogExcerpt> Read(int maxLinesPerServer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLinesPerServer, 4);
        var excerpts = new List<ServerLogExcerpt>();
        foreach (var (server, path) in ServerLog.FilesOf(_runDirectory).OrderBy(file => file.Server, StringComparer.Ordinal))
        {
            var excerpt = ReadFrom(server, path, _startOffsets.GetValueOrDefault(server), maxLinesPerServer);
            if (excerpt is not null)
            {
                excerpts.Add(excerpt);
            }
        }

        return excerpts;
    }

    private ServerLogExcerpt? ReadFrom(string server, string path, long offset, int maxLines)
    {
        var head = new List<ServerLogLine>();
        var tail = new Queue<ServerLogLine>();
        var headCapacity = maxLines / 4;
        var tailCapacity = maxLines - headCapacity;
        long omitted = 0;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (offset > stream.Length)
            {
                offset = 0; // not the file the window saw (the run's files are never truncated; a stranger's would be)
            }

            stream.Seek(offset, SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false);
            var last = _openedAt;
            while (reader.ReadLine() is { } text)
            {
                var line = ServerLog.Parse(text, last);
                last = line.At;
                if (head.Count < headCapacity)
                {
                    head.Add(line);
                    continue;
                }

                tail.Enqueue(line);
                if (tail.Count > tailCapacity)
                {
                    tail.Dequeue();
                    omitted++;
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null; // gone with its run
        }

        return head.Count == 0 ? null : new ServerLogExcerpt(server, [.. head, .. tail], omitted, head.Count);
    }

    private static long LengthOf(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}

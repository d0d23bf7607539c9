namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>
/// Collects every problem of one environment, each named by its path (regions[1].weight) and, when it came from
/// a file, by line and column. Paths that could not be read are remembered so rules on them stay silent rather
/// than repeat the same mistake in other words.
/// </summary>
internal sealed class ProblemList
{
    private static readonly char[] PathSeparators = ['.', '['];
    private readonly List<string> _items = [];
    private readonly HashSet<string> _unreadable = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _locations = new(StringComparer.Ordinal);

    public int Count => _items.Count;

    public IReadOnlyList<string> Items => _items;

    /// <summary>Records where a path's value sits in the file, e.g. "line 12, column 13".</summary>
    public void Locate(string path, string location) => _locations[path] = location;

    /// <summary>Adds "{path} {text}", followed by the path's location when known.</summary>
    public void Add(string path, string text) =>
        _items.Add(_locations.TryGetValue(path, out var location) ? $"{path} {text} ({location})" : $"{path} {text}");

    /// <summary>Adds a problem about the file as a whole.</summary>
    public void AddGeneral(string text) => _items.Add(text);

    /// <summary>Adds a problem and marks the path (and everything under it) unreadable.</summary>
    public void AddUnreadable(string path, string text)
    {
        _unreadable.Add(path);
        Add(path, text);
    }

    /// <summary>True unless the path or one of its parents could not be read.</summary>
    public bool IsReadable(string path)
    {
        if (_unreadable.Count == 0)
        {
            return true;
        }

        var end = path.Length;
        while (end > 0)
        {
            if (_unreadable.Contains(path[..end]))
            {
                return false;
            }

            end = path.LastIndexOfAny(PathSeparators, end - 1);
        }

        return true;
    }

    /// <summary>True when every one of the paths is readable.</summary>
    public bool AreReadable(params ReadOnlySpan<string> paths)
    {
        foreach (var path in paths)
        {
            if (!IsReadable(path))
            {
                return false;
            }
        }

        return true;
    }
}

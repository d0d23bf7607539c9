using System.Collections;

namespace VoxGuard.Resilience.Sip.Messages;

/// <summary>One header line: its canonical name and its value (folded lines joined by one space).</summary>
public readonly record struct SipHeader(string Name, string Value)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Value}";
}

/// <summary>
/// The headers of a message, in the order received or added. Names compare case-insensitively; compact forms are
/// normalised on the way in (<c>v</c> is stored as Via).
/// </summary>
public sealed class SipHeaders : IReadOnlyList<SipHeader>
{
    private readonly List<SipHeader> _headers;

    /// <summary>An empty header list.</summary>
    public SipHeaders() => _headers = [];

    internal SipHeaders(int capacity) => _headers = new List<SipHeader>(capacity);

    /// <summary>Number of header lines.</summary>
    public int Count => _headers.Count;

    /// <summary>The header line at <paramref name="index"/>.</summary>
    public SipHeader this[int index] => _headers[index];

    /// <summary>The first value of the header, or null.</summary>
    public string? this[string name] => Get(name);

    /// <summary>The first value of the header, or null.</summary>
    public string? Get(string name)
    {
        name = SipHeaderNames.Normalize(name);
        foreach (var header in _headers)
        {
            if (header.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return header.Value;
            }
        }

        return null;
    }

    /// <summary>Every value of the header, one per line, in order (a comma-separated line stays one value).</summary>
    public IReadOnlyList<string> GetAll(string name)
    {
        name = SipHeaderNames.Normalize(name);
        var values = new List<string>();
        foreach (var header in _headers)
        {
            if (header.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                values.Add(header.Value);
            }
        }

        return values;
    }

    /// <summary>
    /// Every entry of a list header in order: repeated lines and comma-separated entries alike
    /// (<c>Via: a, b</c> + <c>Via: c</c> → a, b, c). Commas inside quotes or angle brackets do not split.
    /// </summary>
    public IReadOnlyList<string> GetEntries(string name)
    {
        var entries = new List<string>();
        foreach (var value in GetAll(name))
        {
            SplitList(value, entries);
        }

        return entries;
    }

    /// <summary>True when the header is present.</summary>
    public bool Contains(string name) => Get(name) is not null;

    /// <summary>How many lines of the header there are.</summary>
    public int CountOf(string name)
    {
        name = SipHeaderNames.Normalize(name);
        var count = 0;
        foreach (var header in _headers)
        {
            if (header.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Appends a header line.</summary>
    public SipHeaders Add(string name, string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(value);
        _headers.Add(new SipHeader(SipHeaderNames.Normalize(name), value));
        return this;
    }

    /// <summary>Inserts a header line before every other (a proxy's Via, a Record-Route).</summary>
    public SipHeaders Prepend(string name, string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(value);
        _headers.Insert(0, new SipHeader(SipHeaderNames.Normalize(name), value));
        return this;
    }

    /// <summary>Replaces every line of the header by one line with <paramref name="value"/> (where the first was, else at the end).</summary>
    public SipHeaders Set(string name, string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(value);
        name = SipHeaderNames.Normalize(name);
        var index = _headers.FindIndex(header => header.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (index < 0)
        {
            _headers.Add(new SipHeader(name, value));
            return this;
        }

        _headers[index] = new SipHeader(name, value);
        for (var i = _headers.Count - 1; i > index; i--)
        {
            if (_headers[i].Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                _headers.RemoveAt(i);
            }
        }

        return this;
    }

    /// <summary>Removes every line of the header; returns how many there were.</summary>
    public int Remove(string name)
    {
        name = SipHeaderNames.Normalize(name);
        return _headers.RemoveAll(header => header.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Copies every line of the header from <paramref name="source"/>, in order.</summary>
    public SipHeaders CopyFrom(SipHeaders source, string name)
    {
        ArgumentNullException.ThrowIfNull(source);
        name = SipHeaderNames.Normalize(name);
        foreach (var header in source._headers)
        {
            if (header.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                _headers.Add(header);
            }
        }

        return this;
    }

    /// <inheritdoc/>
    public IEnumerator<SipHeader> GetEnumerator() => _headers.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal void AddParsed(SipHeader header) => _headers.Add(header);

    internal void EnsureCapacity(int count) => _headers.EnsureCapacity(count);

    internal void AppendToLast(string continuation)
    {
        var last = _headers[^1];
        _headers[^1] = last with { Value = last.Value.Length == 0 ? continuation : last.Value + " " + continuation };
    }

    internal static void SplitList(string value, List<string> entries)
    {
        var start = 0;
        var quoted = false;
        var angle = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (quoted)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == '<')
            {
                angle++;
            }
            else if (c == '>' && angle > 0)
            {
                angle--;
            }
            else if (c == ',' && angle == 0)
            {
                Add(value.AsSpan(start, i - start), entries);
                start = i + 1;
            }
        }

        Add(value.AsSpan(start), entries);

        static void Add(ReadOnlySpan<char> entry, List<string> entries)
        {
            var trimmed = entry.Trim();
            if (!trimmed.IsEmpty)
            {
                entries.Add(trimmed.ToString());
            }
        }
    }
}

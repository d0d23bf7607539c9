namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>The last lines a process wrote to one stream, for error messages; older lines are dropped.</summary>
internal sealed class OutputTail(int capacity)
{
    private readonly Queue<string> _lines = new(capacity);
    private readonly Lock _gate = new();

    public void Add(string line)
    {
        lock (_gate)
        {
            if (_lines.Count == capacity)
            {
                _lines.Dequeue();
            }

            _lines.Enqueue(line);
        }
    }

    public string[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _lines];
        }
    }

    public bool Contains(string text)
    {
        lock (_gate)
        {
            return _lines.Any(line => line.Contains(text, StringComparison.Ordinal));
        }
    }
}

using System.Diagnostics;
using System.Globalization;

namespace VoxGuard.Resilience.Tests.Shared;

/// <summary>/proc read independently of the code under test, for assertions (tests/Shared: one copy for every test project).</summary>
internal static class Proc
{
    public static string? BootId => Read("/proc/sys/kernel/random/boot_id")?.Trim();

    public static bool IsRoot => Uid(Environment.ProcessId) == 0;

    /// <summary>State (field 3), process group (5), session (6) and start time (22) of /proc/&lt;pid&gt;/stat.</summary>
    public static (char State, int Group, int Session, ulong StartTime)? Stat(int pid)
    {
        var text = Read($"/proc/{pid}/stat");
        if (text is null)
        {
            return null;
        }

        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (fields[0][0], Int(fields[2]), Int(fields[3]), ulong.Parse(fields[19], CultureInfo.InvariantCulture));
    }

    public static ulong StartTime(int pid) => Stat(pid)?.StartTime ?? throw new InvalidOperationException($"pid {pid} is gone");

    /// <summary>Running: present and neither a zombie nor dead (init here does not reap orphans, so zombies stay).</summary>
    public static bool IsRunning(int pid) => Stat(pid) is { State: not ('Z' or 'X') };

    public static List<int> LiveGroupMembers(int group) =>
        [.. Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => name!.All(char.IsAsciiDigit))
            .Select(name => Int(name!))
            .Where(pid => Stat(pid) is { State: not ('Z' or 'X') } stat && stat.Group == group)];

    public static string? Comm(int pid) => Read($"/proc/{pid}/comm")?.Trim();

    public static string Environ(int pid) => Read($"/proc/{pid}/environ") ?? string.Empty;

    public static int? Uid(int pid) => StatusNumber(pid, "Uid:");

    public static int? Gid(int pid) => StatusNumber(pid, "Gid:");

    /// <summary>Polls <paramref name="condition"/> every 5 ms for up to <paramref name="timeout"/> (5 s by default).</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > (timeout ?? TimeSpan.FromSeconds(5)))
            {
                return false;
            }

            await Task.Delay(5);
        }

        return true;
    }

    private static int? StatusNumber(int pid, string key) =>
        Read($"/proc/{pid}/status")?.Split('\n').Where(line => line.StartsWith(key, StringComparison.Ordinal))
            .Select(line => (int?)Int(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1])).FirstOrDefault();

    private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }
}

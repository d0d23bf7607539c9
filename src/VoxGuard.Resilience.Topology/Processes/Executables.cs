namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>Finds executables the way a root shell would, and the wrappers every server is started through.</summary>
internal static class Executables
{
    /// <summary>Puts each server in its own session and process group; without forking when, as here, the caller is no group leader.</summary>
    public const string Setsid = "setsid";

    /// <summary>Switches to an unprivileged user and execs, keeping the PID (runuser would fork).</summary>
    public const string Setpriv = "setpriv";

    /// <summary>Gives a server a mount namespace of its own (for its own /etc/hosts), keeping the PID.</summary>
    public const string Unshare = "unshare";

    /// <summary>Runs a server in another network namespace (a region container's), keeping the PID.</summary>
    public const string Nsenter = "nsenter";

    /// <summary>The shell that bind-mounts the hosts file inside the new namespace, then execs.</summary>
    public const string Shell = "/bin/sh";

    /// <summary>The Debian package of setsid, setpriv, unshare and nsenter.</summary>
    public const string WrapperPackage = "util-linux";

    // Servers live in sbin; a non-root PATH often lacks it.
    private static readonly string[] SystemDirectories =
        ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    /// <summary>The absolute path of <paramref name="executable"/>, or null when it is not installed.</summary>
    public static string? Resolve(string executable)
    {
        if (executable.Contains('/', StringComparison.Ordinal))
        {
            return IsExecutableFile(executable) ? Path.GetFullPath(executable) : null;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(':', StringSplitOptions.RemoveEmptyEntries).Where(Path.IsPathRooted).Concat(SystemDirectories).Distinct(StringComparer.Ordinal))
        {
            var candidate = Path.Combine(directory, executable);
            if (IsExecutableFile(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Where <see cref="Resolve"/> looked, for messages.</summary>
    public static string WhereLooked(string executable) =>
        executable.Contains('/', StringComparison.Ordinal)
            ? "no executable file at that path"
            : "not on PATH, nor in /usr/sbin, /usr/bin, /sbin or /bin";

    /// <summary>The file a path finally points to, to recognise a wrapper in /proc/&lt;pid&gt;/exe.</summary>
    public static string RealPath(string path)
    {
        try
        {
            return File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
        }
        catch (IOException)
        {
            return path;
        }
    }

    /// <summary>
    /// The primary group of <paramref name="user"/> from /etc/passwd (where system users such as postgres and nobody
    /// are), or null when there is no such user. setpriv is given the group's number: on Debian nobody's group is
    /// nogroup, so <c>--regid=nobody</c> would fail.
    /// </summary>
    public static int? PrimaryGroup(string user)
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/passwd"))
            {
                var fields = line.Split(':');
                if (fields.Length > 3 && fields[0] == user
                    && int.TryParse(fields[3], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var group))
                {
                    return group;
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return null;
    }

    private static bool IsExecutableFile(string path) => File.Exists(path) && Signals.CanExecute(path);
}

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>
/// What to run for one server of the topology: its name in the run, the executable, its arguments and environment,
/// and the Debian package that provides it (named in the message when it is missing). Started through
/// <see cref="RunDirectory.StartProcessAsync"/>, always in its own process group and, with <see cref="RunAsUser"/>,
/// as an unprivileged user; either way the PID stays the server's own.
/// </summary>
public sealed class ProcessSpec
{
    /// <param name="name">The process's name in its run, used for its PID file and in messages: letters, digits, '.', '_'
    /// and '-' (e.g. <c>lagos-redis</c>).</param>
    /// <param name="executable">A command looked up on PATH and in the sbin folders (<c>redis-server</c>), or an absolute path.</param>
    /// <param name="package">The Debian package that installs <paramref name="executable"/> (<c>redis-server</c>).</param>
    public ProcessSpec(string name, string executable, string package)
    {
        var problems = new List<string>();
        if (string.IsNullOrEmpty(name) || name.Length > 100 || name[0] == '.' || !name.All(IsNameCharacter))
        {
            problems.Add($"name '{name}' must be 1-100 letters, digits, '.', '_' or '-', not starting with '.'");
        }

        if (string.IsNullOrWhiteSpace(executable))
        {
            problems.Add("executable must be a command name or an absolute path");
        }

        if (string.IsNullOrWhiteSpace(package))
        {
            problems.Add("package must name the Debian package that provides the executable");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException($"Invalid process spec: {string.Join("; ", problems)}.");
        }

        Name = name;
        Executable = executable;
        Package = package;
    }

    /// <summary>The process's name in its run (e.g. lagos-redis); one live process per name.</summary>
    public string Name { get; }

    /// <summary>A command looked up on PATH and in the sbin folders, or an absolute path.</summary>
    public string Executable { get; }

    /// <summary>The Debian package that provides <see cref="Executable"/>.</summary>
    public string Package { get; }

    /// <summary>The arguments, passed as they are (no shell). Empty by default.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Variables added to the harness's environment; a null value removes the variable. Empty by default.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>The working directory, an absolute path; by default the run directory.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>
    /// An unprivileged user to run as (e.g. <c>postgres</c>, which refuses root): the server is started through
    /// <c>setpriv --reuid=U --regid=U --init-groups --</c>, which execs and so keeps the PID. Needs a root harness.
    /// Null (the default) runs as the harness's user.
    /// </summary>
    public string? RunAsUser { get; init; }

    /// <summary>
    /// A file the server sees as its /etc/hosts, in a mount namespace of its own (<c>unshare --mount</c>, then a bind
    /// mount; both exec, so the PID is kept; its children inherit the view). Names such as <c>pg-lagos</c> then resolve,
    /// for this server only, to the address its region reaches Lagos at — the way one name means one thing per region.
    /// Needs a root harness. Null (the default) leaves the machine's /etc/hosts.
    /// </summary>
    public string? HostsFile { get; init; }

    /// <summary>
    /// A network namespace to run the server in (a path such as <c>/run/netns/voxguard-…-lagos</c>, the network stack
    /// of a region's container): the server is started through <c>nsenter --net=…</c>, which execs and so keeps the PID,
    /// and sees only that namespace's interfaces and routes. Needs a root harness. Null (the default) leaves the
    /// harness's own network namespace, where every 127.0.0.0/8 address binds.
    /// </summary>
    public string? NetworkNamespace { get; init; }

    /// <summary>
    /// Whether every line it writes also goes to <c>logs/&lt;name&gt;.log</c> in the run directory, for the scenario
    /// reports (<see cref="ServerLogWindow"/>). True by default; a command run to its end, whose caller reads what it
    /// said, sets false.
    /// </summary>
    public bool KeepsLogFile { get; init; } = true;

    /// <summary>
    /// Checks before anything starts that every executable is installed (and setpriv where a spec runs as another
    /// user); throws one <see cref="ServerProcessException"/> naming every missing one and the packages to install.
    /// </summary>
    public static void EnsureInstalled(IEnumerable<ProcessSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(specs);
        var missing = new List<MissingExecutable>();
        foreach (var spec in specs)
        {
            if (Executables.Resolve(spec.Executable) is null)
            {
                missing.Add(new MissingExecutable(spec.Name, spec.Executable, spec.Package));
            }

            if (spec.RunAsUser is not null && Executables.Resolve(Executables.Setpriv) is null)
            {
                missing.Add(new MissingExecutable(spec.Name, Executables.Setpriv, Executables.WrapperPackage));
            }

            if (spec.HostsFile is not null && Executables.Resolve(Executables.Unshare) is null)
            {
                missing.Add(new MissingExecutable(spec.Name, Executables.Unshare, Executables.WrapperPackage));
            }

            if (spec.NetworkNamespace is not null && Executables.Resolve(Executables.Nsenter) is null)
            {
                missing.Add(new MissingExecutable(spec.Name, Executables.Nsenter, Executables.WrapperPackage));
            }
        }

        if (Executables.Resolve(Executables.Setsid) is null)
        {
            missing.Add(new MissingExecutable("every server", Executables.Setsid, Executables.WrapperPackage));
        }

        if (missing.Count > 0)
        {
            throw ServerProcessException.NotInstalled(missing);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>The problems with the settable parts, each on its own; empty when the spec can be started.</summary>
    internal List<string> Problems()
    {
        var problems = new List<string>();
        if (Arguments is null || Arguments.Any(argument => argument is null))
        {
            problems.Add("arguments must not be null");
        }

        if (Environment is null || Environment.Keys.Any(key => key.Length == 0 || key.Contains('=', StringComparison.Ordinal)))
        {
            problems.Add("environment variable names must be non-empty and hold no '='");
        }

        if (WorkingDirectory is not null && !Path.IsPathRooted(WorkingDirectory))
        {
            problems.Add($"working directory '{WorkingDirectory}' must be an absolute path");
        }

        if (HostsFile is not null && !Path.IsPathRooted(HostsFile))
        {
            problems.Add($"hosts file '{HostsFile}' must be an absolute path");
        }

        if (NetworkNamespace is not null && !Path.IsPathRooted(NetworkNamespace))
        {
            problems.Add($"network namespace '{NetworkNamespace}' must be an absolute path");
        }

        if (RunAsUser is not null && (RunAsUser.Length == 0 || !RunAsUser.All(IsNameCharacter)))
        {
            problems.Add($"run-as user '{RunAsUser}' is not a user name");
        }

        return problems;
    }

    private static bool IsNameCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-';
}

/// <summary>An executable a spec needs that is not installed.</summary>
internal sealed record MissingExecutable(string ProcessName, string Executable, string Package);

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>
/// One harness run: the directory <c>&lt;root&gt;/&lt;run-id&gt;/</c> with run.json (the harness's PID and start time),
/// one <c>&lt;name&gt;.pid</c> per server started through <see cref="StartProcessAsync"/>, and whatever the servers keep
/// there. Creating one first reaps what crashed runs left behind (<see cref="Reaper"/>). Disposing it kills every
/// process it started (their whole process groups) and removes the directory; disposal is idempotent, and the harness's
/// own end (returning from Main, an unhandled exception, SIGTERM, SIGINT, SIGHUP, SIGQUIT) does the same for runs not
/// disposed.
/// </summary>
public sealed class RunDirectory : IDisposable, IAsyncDisposable
{
    /// <summary>The environment variable every server gets, naming its run (a label for ps and for humans).</summary>
    public const string RunIdVariable = "VOXGUARD_RESILIENCE_RUN";

    private static readonly ConcurrentDictionary<RunDirectory, byte> Live = new();

    // Kept alive for the harness's lifetime: disposing a registration would unregister it.
    private static readonly PosixSignalRegistration[] SignalRegistrations = RegisterTerminatingSignals();
    private static int s_sequence;

    private readonly Dictionary<string, ManagedProcess> _processes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _starting = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _disposeGrace;
    private readonly Lock _gate = new();
    private Task? _disposal;

    static RunDirectory()
    {
        // A harness that returns, crashes, or is ended by SIGTERM, Ctrl+C (SIGINT), SIGHUP or SIGQUIT takes its servers
        // with it: they run in their own sessions, so the terminal's signals never reach them. After kill -9 the next
        // run's reaper does it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => CleanUpAtExit();
        AppDomain.CurrentDomain.UnhandledException += (_, _) => CleanUpAtExit();
    }

    private RunDirectory(string root, string runId, ReapReport reaped, RunDirectoryOptions options)
    {
        Root = root;
        RunId = runId;
        Path = System.IO.Path.Combine(root, runId);
        Reaped = reaped;
        _time = options.TimeProvider;
        _disposeGrace = options.DisposeGracePeriod;
    }

    /// <summary>
    /// The environment variable that moves the default run root (an absolute path). Everything that finds runs by the
    /// default root — <c>up</c>, <c>status</c>, <c>down</c>, <c>fault</c>, the reaper — then sees only that root, so a
    /// test (or a second operator) cannot stop or reap topologies it did not start.
    /// </summary>
    public const string RunRootVariable = "VOXGUARD_RESILIENCE_RUN_ROOT";

    /// <summary>
    /// <see cref="RunRootVariable"/> when it holds an absolute path; else /dev/shm/voxguard-resilience where /dev/shm
    /// exists (tmpfs: fast, gone at reboot), else /tmp/voxguard-resilience.
    /// </summary>
    public static string DefaultRoot =>
        Environment.GetEnvironmentVariable(RunRootVariable) is { Length: > 0 } root && System.IO.Path.IsPathRooted(root)
            ? System.IO.Path.GetFullPath(root)
            : DefaultRootFor(Directory.Exists("/dev/shm"));

    /// <summary>The folder holding the run directories.</summary>
    public string Root { get; }

    /// <summary>This run's id, the directory's name: UTC start time, harness PID and a sequence number.</summary>
    private readonly ConcurrentDictionary<string, string> _regionNamespaces = new(StringComparer.Ordinal);

    public string RunId { get; }

    /// <summary>The run directory, an absolute path.</summary>
    public string Path { get; }

    /// <summary>What reaping abandoned runs found before this run began.</summary>
    public ReapReport Reaped { get; }

    /// <summary>The processes of this run, the latest one per name (running or exited).</summary>
    public IReadOnlyList<ManagedProcess> Processes
    {
        get
        {
            lock (_gate)
            {
                return [.. _processes.Values];
            }
        }
    }

    /// <summary>
    /// Reaps abandoned runs under the root, then creates this run's directory and its run.json.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options (every problem in one message).</exception>
    /// <exception cref="PlatformNotSupportedException">Not Linux: servers are managed through /proc and process groups.</exception>
    public static RunDirectory Create(RunDirectoryOptions? options = null)
    {
        options ??= new RunDirectoryOptions();
        options.Validate();
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The resilience harness runs its servers as Linux processes (/proc, process groups, signals); run it on Linux.");
        }

        var root = System.IO.Path.GetFullPath(options.Root ?? DefaultRoot);
        CreateWhileTheRootMayGo(root);
        var reaped = Reaper.ReapAbandonedRuns(root, options.TimeProvider);

        var createdAt = options.TimeProvider.GetUtcNow();
        var harness = ProcFs.ReadSelf();
        var runId = string.Create(CultureInfo.InvariantCulture,
            $"{createdAt.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{Environment.ProcessId}-{Interlocked.Increment(ref s_sequence)}");
        var run = new RunDirectory(root, runId, reaped, options);
        CreateWhileTheRootMayGo(run.Path);
        Live.TryAdd(run, 0);
        try
        {
            RunFiles.Write(System.IO.Path.Combine(run.Path, RunFiles.RunFileName),
                new RunRecord(runId, Environment.ProcessId, harness.StartTime, createdAt, ProcFs.BootId, DotnetRuntimeFiles.OfThisProcess));
        }
        catch
        {
            run.Dispose();
            throw;
        }

        return run;
    }

    /// <summary>
    /// Creates the root or a run's directory even when another harness on the same root removes the root meanwhile (its
    /// last run ended: <see cref="RemoveRootIfEmpty"/>), which makes mkdir fail half-way ("not found", or "already
    /// exists" for a root gone between mkdir and its check).
    /// </summary>
    private static void CreateWhileTheRootMayGo(string path)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Directory.CreateDirectory(path);
                return;
            }
            catch (IOException) when (attempt < 5)
            {
                // the root went meanwhile: create it again
            }
        }
    }

    /// <summary>A path inside the run directory (for configuration files, data directories, sockets).</summary>
    public string PathOf(string relativePath) => System.IO.Path.Combine(Path, relativePath);

    /// <summary>
    /// Runs <paramref name="region"/>'s servers in <paramref name="networkNamespace"/> from now on (a containers
    /// environment's region host): every region spec asks <see cref="NetworkNamespaceOf"/>.
    /// </summary>
    public void PlaceRegion(string region, string networkNamespace)
    {
        ArgumentException.ThrowIfNullOrEmpty(region);
        ArgumentException.ThrowIfNullOrEmpty(networkNamespace);
        _regionNamespaces[region] = networkNamespace;
    }

    /// <summary>The network namespace <paramref name="region"/>'s servers run in, or null: this machine's own (loopback).</summary>
    public string? NetworkNamespaceOf(string region) => _regionNamespaces.GetValueOrDefault(region);

    /// <summary>The process of this run with that name, or null.</summary>
    public ManagedProcess? Process(string name)
    {
        lock (_gate)
        {
            return _processes.GetValueOrDefault(name);
        }
    }

    /// <summary>
    /// Starts <paramref name="spec"/> in its own process group (setsid; setpriv too when it runs as another user) and
    /// records <c>&lt;name&gt;.pid</c>. Everything is checked before anything starts: a missing executable, wrapper or
    /// user fails with a <see cref="ServerProcessException"/> that says what to install. Returns once the PID is the
    /// server's own and leads its group; readiness is the caller's next step (<see cref="ManagedProcess.WaitUntilReadyAsync"/>).
    /// A name may be started again once its earlier process has exited.
    /// </summary>
    public async Task<ManagedProcess> StartProcessAsync(ProcessSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ObjectDisposedException.ThrowIf(_disposal is not null, this);
        cancellationToken.ThrowIfCancellationRequested();
        var launch = Plan(spec);

        ManagedProcess? previous;
        lock (_gate)
        {
            previous = _processes.GetValueOrDefault(spec.Name);
            if (previous is { HasExited: false })
            {
                throw ServerProcessException.AlreadyRunning(previous);
            }

            if (!_starting.Add(spec.Name))
            {
                throw ServerProcessException.AlreadyStarting(spec);
            }
        }

        try
        {
            if (previous is not null)
            {
                await previous.DisposeAsync().ConfigureAwait(false);
            }

            var process = ManagedProcess.Start(spec, launch.Executable, launch.StartInfo, launch.CommandLine, _time, Path);
            try
            {
                lock (_gate)
                {
                    ObjectDisposedException.ThrowIf(_disposal is not null, this);
                    _processes[spec.Name] = process;
                }

                if (process.StartTime != 0)
                {
                    RunFiles.Write(RunFiles.PidFile(Path, spec.Name),
                        new PidRecord(spec.Name, process.Pid, process.StartTime, ProcFs.BootId, launch.CommandLine, spec.RunAsUser, process.TemporaryDirectory));
                }

                await process.WaitUntilLaunchedAsync(launch.Wrappers, cancellationToken).ConfigureAwait(false);
                return process;
            }
            catch
            {
                await process.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            lock (_gate)
            {
                _starting.Remove(spec.Name);
            }
        }
    }

    /// <summary>Kills every process of the run (SIGTERM first when a grace period was set) and removes the directory.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Kills every process of the run with its process group (SIGTERM and the grace period first when one was set),
    /// then removes the directory, even when some process could not be killed. Idempotent: later calls return at once
    /// (or wait for the first). Throws after cleaning up what it could if a process would not die.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_disposal is not null)
            {
                mine = null;
            }
            else
            {
                _disposal = mine.Task;
            }
        }

        if (mine is null)
        {
            await _disposal.ConfigureAwait(false);
            return;
        }

        try
        {
            await DisposeCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            mine.SetResult();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Path;

    internal static string DefaultRootFor(bool sharedMemoryExists) =>
        sharedMemoryExists ? "/dev/shm/voxguard-resilience" : "/tmp/voxguard-resilience";

    private async Task DisposeCoreAsync()
    {
        var failures = new List<Exception>();
        try
        {
            var processes = Processes;
            var endings = processes.Select(async process =>
            {
                try
                {
                    if (_disposeGrace > TimeSpan.Zero)
                    {
                        await process.StopAsync(_disposeGrace).ConfigureAwait(false);
                    }
                }
                finally
                {
                    await process.DisposeAsync().ConfigureAwait(false);
                }
            }).ToList();
            foreach (var ending in endings)
            {
                try
                {
                    await ending.ConfigureAwait(false);
                }
                catch (Exception exception)
                {
                    // Every process gets its chance to be killed and the directory is removed whatever one of them did.
                    failures.Add(exception);
                }
            }
        }
        finally
        {
            Live.TryRemove(this, out _);
            RemoveDirectory(failures);
        }

        if (failures.Count == 1)
        {
            throw failures[0];
        }

        if (failures.Count > 1)
        {
            throw new AggregateException($"Run {RunId}: {failures.Count} processes could not be stopped cleanly.", failures);
        }
    }

    /// <summary>The last run out removes the root too, so nothing of the harness stays on the machine.</summary>
    private void RemoveRootIfEmpty()
    {
        try
        {
            if (Directory.Exists(Root) && !Directory.EnumerateFileSystemEntries(Root).Any())
            {
                Directory.Delete(Root);
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Another run created its directory meanwhile: the root is still in use.
        }
    }

    private void RemoveDirectory(List<Exception> failures)
    {
        // A server that left its process group (PostgreSQL under Patroni) is found only by its PID file in here.
        DetachedServer.KillEveryOneUnder(Path);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (Directory.Exists(Path))
                {
                    Directory.Delete(Path, recursive: true);
                }

                RemoveRootIfEmpty();
                return;
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                if (attempt == 3)
                {
                    failures.Add(exception);
                    return;
                }

                // A dying process may still have been creating files in it.
                Thread.Sleep(20);
            }
        }
    }

    private (string Executable, ProcessStartInfo StartInfo, List<string> CommandLine, HashSet<string> Wrappers) Plan(ProcessSpec spec)
    {
        var problems = spec.Problems();
        if (problems.Count > 0)
        {
            throw ServerProcessException.InvalidSpec(spec, problems);
        }

        var missing = new List<MissingExecutable>();
        var executable = Executables.Resolve(spec.Executable);
        var setsid = Executables.Resolve(Executables.Setsid);
        var setpriv = spec.RunAsUser is null ? null : Executables.Resolve(Executables.Setpriv);
        if (executable is null)
        {
            missing.Add(new MissingExecutable(spec.Name, spec.Executable, spec.Package));
        }

        if (setsid is null)
        {
            missing.Add(new MissingExecutable(spec.Name, Executables.Setsid, Executables.WrapperPackage));
        }

        if (spec.RunAsUser is not null && setpriv is null)
        {
            missing.Add(new MissingExecutable(spec.Name, Executables.Setpriv, Executables.WrapperPackage));
        }

        if (missing.Count > 0)
        {
            throw ServerProcessException.NotInstalled(missing);
        }

        var commandLine = new List<string> { setsid! };
        var wrappers = new HashSet<string>(StringComparer.Ordinal) { Executables.RealPath(setsid!) };
        if (spec.NetworkNamespace is { } network)
        {
            var nsenter = Executables.Resolve(Executables.Nsenter)
                ?? throw ServerProcessException.NotInstalled([new MissingExecutable(spec.Name, Executables.Nsenter, Executables.WrapperPackage)]);
            if (!Signals.IsRoot)
            {
                throw ServerProcessException.NotRoot(spec);
            }

            if (!File.Exists(network))
            {
                throw ServerProcessException.NoNetworkNamespace(spec);
            }

            // First, so the mount namespace and user switch below happen inside it; nsenter execs (no PID namespace asked).
            commandLine.AddRange([nsenter, "--net=" + network, "--"]);
            wrappers.Add(Executables.RealPath(nsenter));
        }

        if (spec.HostsFile is { } hosts)
        {
            var unshare = Executables.Resolve(Executables.Unshare)
                ?? throw ServerProcessException.NotInstalled([new MissingExecutable(spec.Name, Executables.Unshare, Executables.WrapperPackage)]);
            if (!Signals.IsRoot)
            {
                throw ServerProcessException.NotRoot(spec);
            }

            // Private propagation: the bind mount stays inside this server's namespace.
            commandLine.AddRange([unshare, "--mount", "--propagation", "private", "--",
                Executables.Shell, "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hosts]);
            wrappers.Add(Executables.RealPath(unshare));
            wrappers.Add(Executables.RealPath(Executables.Shell));
        }

        if (spec.RunAsUser is { } user)
        {
            var group = Executables.PrimaryGroup(user) ?? throw ServerProcessException.NoSuchUser(spec);
            if (!Signals.IsRoot)
            {
                throw ServerProcessException.NotRoot(spec);
            }

            commandLine.AddRange([setpriv!, $"--reuid={user}", string.Create(CultureInfo.InvariantCulture, $"--regid={group}"), "--init-groups", "--"]);
            wrappers.Add(Executables.RealPath(setpriv!));
        }

        commandLine.Add(executable!);
        commandLine.AddRange(spec.Arguments);

        var startInfo = new ProcessStartInfo(commandLine[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = spec.WorkingDirectory ?? Path,
        };
        foreach (var argument in commandLine.Skip(1))
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment[RunIdVariable] = RunId;
        if (NetworkRule.ForChildProcess() is { } ownNetworks)
        {
            // An engine in a region's container binds and talks to that region's network: the rule travels with it.
            startInfo.Environment[NetworkRule.OwnNetworksVariable] = ownNetworks;
        }
        foreach (var (name, value) in spec.Environment)
        {
            if (value is null)
            {
                startInfo.Environment.Remove(name);
            }
            else
            {
                startInfo.Environment[name] = value;
            }
        }

        return (executable!, startInfo, commandLine, wrappers);
    }

    private static PosixSignalRegistration[] RegisterTerminatingSignals() =>
        OperatingSystem.IsLinux()
            ? [.. new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGHUP, PosixSignal.SIGQUIT }
                .Select(signal => PosixSignalRegistration.Create(signal, OnTerminatingSignal))]
            : [];

    /// <summary>
    /// The signal will end the harness unless a handler cancels it: one registered earlier (a CLI that shuts down
    /// gracefully on Ctrl+C and disposes its runs) has had its say by now; without one, clean up before the end.
    /// </summary>
    private static void OnTerminatingSignal(PosixSignalContext context)
    {
        if (!context.Cancel)
        {
            CleanUpAtExit();
        }
    }

    /// <summary>The harness is ending (or crashing) without having disposed these runs: SIGKILL their groups and remove their directories.</summary>
    private static void CleanUpAtExit()
    {
        foreach (var run in Live.Keys)
        {
            if (!Live.TryRemove(run, out _))
            {
                continue;
            }

            // The process lives on for a moment after a signal (its exit handlers run), and so does a topology start on
            // another thread: closed first, the run starts no server after this, and one being launched right now is
            // killed by its own start (StartProcessAsync). Not closed, such starts outlived a drill stopped with SIGTERM.
            run.CloseForExit();
            foreach (var process in run.Processes)
            {
                process.KillGroupNow();
            }

            run.RemoveDirectory([]);
        }
    }

    /// <summary>No process starts in this run any more (a start already launching kills its own process); nothing else changes.</summary>
    internal void CloseForExit()
    {
        lock (_gate)
        {
            _disposal ??= Task.CompletedTask;
        }
    }
}

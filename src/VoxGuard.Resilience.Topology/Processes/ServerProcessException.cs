using System.Globalization;
using System.Text;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>
/// A server process of the topology could not be started, did not become ready, or did not obey a signal. The message
/// names the process and its executable, carries what it said last (exit code, last stderr lines) and what to do next.
/// </summary>
public sealed class ServerProcessException : Exception
{
    private const string InstallHint = "or run ./resilience which installs";

    private ServerProcessException(string message, string processName, string executable, int? pid = null, int? exitCode = null,
        IReadOnlyList<string>? outputTail = null, Exception? inner = null)
        : base(message, inner)
    {
        ProcessName = processName;
        Executable = executable;
        Pid = pid;
        ExitCode = exitCode;
        OutputTail = outputTail ?? [];
    }

    /// <summary>The process's name in its run (several, comma-separated, when several were missing).</summary>
    public string ProcessName { get; }

    /// <summary>The executable it runs (or that was missing).</summary>
    public string Executable { get; }

    /// <summary>Its PID, when it had started.</summary>
    public int? Pid { get; }

    /// <summary>Its exit code, when it had exited.</summary>
    public int? ExitCode { get; }

    /// <summary>The last lines it wrote to stderr (to stdout when stderr was empty), oldest first.</summary>
    public IReadOnlyList<string> OutputTail { get; }

    internal static ServerProcessException NotInstalled(IReadOnlyList<MissingExecutable> missing)
    {
        var names = string.Join(", ", missing.Select(item => item.ProcessName).Distinct(StringComparer.Ordinal));
        var executables = missing.Select(item => item.Executable).Distinct(StringComparer.Ordinal).ToList();
        var packages = string.Join(' ', missing.Select(item => item.Package).Distinct(StringComparer.Ordinal));
        var what = executables.Count == 1
            ? $"{executables[0]} is not installed ({Executables.WhereLooked(executables[0])})"
            : $"{string.Join(", ", executables)} are not installed";
        var message = $"Cannot start {names}: {what}: apt-get install -y {packages}, {InstallHint} {(executables.Count == 1 ? "it" : "them")}.";
        return new ServerProcessException(message, names, string.Join(", ", executables));
    }

    internal static ServerProcessException InvalidSpec(ProcessSpec spec, IReadOnlyList<string> problems) =>
        new($"Cannot start {spec.Name}: invalid process spec: {string.Join("; ", problems)}.", spec.Name, spec.Executable);

    internal static ServerProcessException NoSuchUser(ProcessSpec spec) =>
        new($"Cannot start {spec.Name} as user {spec.RunAsUser}: there is no such user. Install the package that creates it "
            + $"(apt-get install -y {spec.Package}), {InstallHint} it, or create the user (useradd --system {spec.RunAsUser}).",
            spec.Name, spec.Executable);

    internal static ServerProcessException NotRoot(ProcessSpec spec) =>
        new($"Cannot start {spec.Name}{(spec.RunAsUser is null ? string.Empty : $" as user {spec.RunAsUser}")}: switching users (setpriv), a server's own /etc/hosts (unshare) and a region container's network (nsenter) need a root harness. "
            + "Run the harness as root (sudo ./resilience …).", spec.Name, spec.Executable);

    internal static ServerProcessException NoNetworkNamespace(ProcessSpec spec) =>
        new($"Cannot start {spec.Name}: its network namespace {spec.NetworkNamespace} does not exist (its region's container is gone or was never started). "
            + "Start the region's host first (a region lost with fault kill comes back with rejoin).", spec.Name, spec.Executable);

    internal static ServerProcessException AlreadyRunning(ManagedProcess running) =>
        new($"Cannot start {running.Name}: it is already running in this run ({Describe(running)}). Stop or kill it first.",
            running.Name, running.Spec.Executable, running.Pid);

    internal static ServerProcessException AlreadyStarting(ProcessSpec spec) =>
        new($"Cannot start {spec.Name}: another start of it in this run is in progress.", spec.Name, spec.Executable);

    internal static ServerProcessException StartFailed(ProcessSpec spec, string executable, Exception cause) =>
        new($"Cannot start {spec.Name} ({executable}): {cause.Message.TrimEnd('.')}. Check that it and setsid can be executed.",
            spec.Name, spec.Executable, inner: cause);

    internal static ServerProcessException NoProcessGroup(ManagedProcess process, TimeSpan waited) =>
        new($"{Describe(process)} did not become its own process group leader (setsid) within {DurationText.Format(waited)}. {TailText(process)}",
            process.Name, process.Spec.Executable, process.Pid, null, process.ErrorTail());

    internal static ServerProcessException ExitedDuringWait(ManagedProcess process, string what, TimeSpan waited)
    {
        var code = process.ExitCode ?? -1;
        return new ServerProcessException(
            $"{Describe(process)} exited with code {code.ToString(CultureInfo.InvariantCulture)}{SignalHint(code)} after {Seconds(waited)} "
            + $"while the harness waited for {what}; fix what it reports, then run again. {TailText(process)}",
            process.Name, process.Spec.Executable, process.Pid, code, process.ErrorTail());
    }

    internal static ServerProcessException NotReady(ManagedProcess process, string what, TimeSpan timeout, int attempts, string? lastProblem) =>
        new($"{Describe(process)} was not ready: timed out after {DurationText.Format(timeout)} waiting for {what} "
            + $"({Attempts(attempts, lastProblem)}). It is still running; check its configuration, or give it longer "
            + $"(WaitStrategy.WithTimeout). {TailText(process)}",
            process.Name, process.Spec.Executable, process.Pid, null, process.ErrorTail());

    internal static ServerProcessException DidNotExit(ManagedProcess process, string after, TimeSpan waited, string state) =>
        new($"{Describe(process)} did not exit within {DurationText.Format(waited)} of {after} ({state}). "
            + "A process in state D is stuck in the kernel (disk, NFS); find it with ps -o pid,stat,wchan -g " + process.Pid.ToString(CultureInfo.InvariantCulture) + ".",
            process.Name, process.Spec.Executable, process.Pid, process.ExitCode, process.ErrorTail());

    internal static ServerProcessException NotRunning(ManagedProcess process, string operation) =>
        new($"Cannot {operation} {Describe(process)}: it has exited with code {process.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "?"}. "
            + $"Start it again first. {TailText(process)}",
            process.Name, process.Spec.Executable, process.Pid, process.ExitCode, process.ErrorTail());

    internal static ServerProcessException SignalFailed(ManagedProcess process, int signal, Exception cause) =>
        new($"Cannot send {Signals.Name(signal)} to {Describe(process)} (process group {process.Pid.ToString(CultureInfo.InvariantCulture)}): "
            + $"{cause.Message.TrimEnd('.')}. The harness must run as root or as the process's user.",
            process.Name, process.Spec.Executable, process.Pid, process.ExitCode, inner: cause);

    internal static ServerProcessException StateNotReached(ManagedProcess process, string state, TimeSpan waited, string members) =>
        new($"{Describe(process)} did not reach {state} within {DurationText.Format(waited)} (per /proc/<pid>/stat; its group: {members}).",
            process.Name, process.Spec.Executable, process.Pid, process.ExitCode);

    private static string Describe(ManagedProcess process) =>
        string.Create(CultureInfo.InvariantCulture, $"{process.Name} ({Path.GetFileName(process.Spec.Executable)}, pid {process.Pid})");

    private static string Seconds(TimeSpan elapsed) =>
        string.Create(CultureInfo.InvariantCulture, $"{elapsed.TotalSeconds:0.00}s");

    private static string SignalHint(int code) =>
        code is > 128 and < 128 + 65 ? string.Create(CultureInfo.InvariantCulture, $" (killed by signal {code - 128}?)") : string.Empty;

    private static string Attempts(int attempts, string? lastProblem) =>
        string.Create(CultureInfo.InvariantCulture, $"{attempts} {(attempts == 1 ? "attempt" : "attempts")}")
        + (lastProblem is null ? string.Empty : $"; last: {lastProblem.TrimEnd('.')}");

    private static string TailText(ManagedProcess process)
    {
        var stderr = process.StandardErrorTail;
        var stdout = process.StandardOutputTail;
        var (label, lines) = stderr.Count > 0 ? ("Last stderr lines:", stderr)
            : stdout.Count > 0 ? ("It wrote nothing to stderr; last stdout lines:", stdout)
            : (string.Empty, stdout);
        if (lines.Count == 0)
        {
            return "It wrote nothing to stdout or stderr.";
        }

        var text = new StringBuilder(label);
        foreach (var line in lines)
        {
            text.Append("\n    ").Append(line);
        }

        return text.ToString();
    }
}

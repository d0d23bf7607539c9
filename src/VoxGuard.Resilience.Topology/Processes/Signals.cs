using System.ComponentModel;
using System.Runtime.InteropServices;

namespace VoxGuard.Resilience.Topology.Processes;

/// <summary>
/// POSIX signals sent with libc <c>kill(2)</c>: a positive target is one process, a negative one a whole process group.
/// Refuses the targets that would reach far more than a server (0, -1, 1, init's group, the harness's own group).
/// </summary>
internal static class Signals
{
    // Linux numbering, the same on x86-64 and arm64.
    public const int Kill = 9;
    public const int Term = 15;
    public const int Cont = 18;
    public const int Stop = 19;

    private const int NoSuchProcess = 3; // ESRCH
    private const int ExecutableAccess = 1; // X_OK
    private const int ClockTicksName = 2; // _SC_CLK_TCK

    /// <summary>Clock ticks per second (USER_HZ), the unit of the start time in /proc/&lt;pid&gt;/stat.</summary>
    public static long ClockTicksPerSecond { get; } = ReadClockTicks();

    /// <summary>True when the harness runs as root and so may switch users with setpriv.</summary>
    public static bool IsRoot => GetEffectiveUserId() == 0;

    public static string Name(int signal) => signal switch
    {
        Kill => "SIGKILL",
        Term => "SIGTERM",
        Cont => "SIGCONT",
        Stop => "SIGSTOP",
        0 => "signal 0",
        _ => $"signal {signal}",
    };

    /// <summary>Sends <paramref name="signal"/> to one process; false when it no longer exists (ESRCH).</summary>
    public static bool SendToProcess(int pid, int signal)
    {
        if (pid <= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(pid), pid, "Refusing to signal init, every process or the caller's group.");
        }

        return Send(pid, signal);
    }

    /// <summary>Sends <paramref name="signal"/> to every process of group <paramref name="processGroup"/>; false when the group is empty.</summary>
    public static bool SendToGroup(int processGroup, int signal)
    {
        if (processGroup <= 1 || processGroup == OwnProcessGroup())
        {
            throw new ArgumentOutOfRangeException(nameof(processGroup), processGroup, "Refusing to signal init's group or the harness's own process group.");
        }

        return Send(-processGroup, signal);
    }

    /// <summary>Signals the group of a process that leads its own group, or the process alone when it does not (yet).</summary>
    public static bool SendToGroupOrProcess(int pid, int signal) =>
        SendToGroup(pid, signal) || SendToProcess(pid, signal);

    /// <summary>True when any process (zombies included) is still in the group.</summary>
    public static bool GroupExists(int processGroup) => SendToGroup(processGroup, 0);

    /// <summary>True when the harness may execute the file (access(2) with X_OK, as the kernel would decide).</summary>
    public static bool CanExecute(string path) => Access(path, ExecutableAccess) == 0;

    private static bool Send(int target, int signal)
    {
        if (NativeKill(target, signal) == 0)
        {
            return true;
        }

        var error = Marshal.GetLastPInvokeError();
        if (error == NoSuchProcess)
        {
            return false;
        }

        throw new Win32Exception(error);
    }

    private static int OwnProcessGroup() => ProcFs.TryReadStat(Environment.ProcessId, out var self) ? self.ProcessGroup : 0;

    private static long ReadClockTicks()
    {
        var ticks = (long)SysConf(ClockTicksName);
        return ticks > 0 ? ticks : 100;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int NativeKill(int pid, int signal);

    [DllImport("libc", EntryPoint = "geteuid")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern uint GetEffectiveUserId();

    [DllImport("libc", EntryPoint = "access", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Access([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int mode);

    [DllImport("libc", EntryPoint = "sysconf")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern nint SysConf(int name);
}

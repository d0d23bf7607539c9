using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace VoxGuard.Resilience.Benchmarks;

/// <summary>What the host charges for the operations a call through the miniature is made of (medians of three rounds).</summary>
/// <param name="Sha256MegabytesPerSecond">Compute on one core, no kernel: SHA-256 over memory.</param>
/// <param name="SystemCallNanoseconds">One system call (getppid): every send, receive and wake-up pays it.</param>
/// <param name="PageFaultNanoseconds">One page fault on fresh memory: PostgreSQL's backends and a collector's new heap pay it.</param>
/// <param name="TcpConnectionMicroseconds">A loopback TCP connection connected, accepted and closed: the generator opens one per call.</param>
/// <param name="ProcessSpawnMilliseconds">A process started and reaped (/bin/true): PostgreSQL forks one per connection.</param>
internal sealed record HostFigures(double Sha256MegabytesPerSecond, double SystemCallNanoseconds, double PageFaultNanoseconds,
    double TcpConnectionMicroseconds, double ProcessSpawnMilliseconds)
{
    public IEnumerable<(string What, string Figure)> Rows()
    {
        yield return ("compute, one core (SHA-256, MB/s)", Sha256MegabytesPerSecond.ToString("F0", CultureInfo.InvariantCulture));
        yield return ("system call (getppid, ns)", SystemCallNanoseconds.ToString("F0", CultureInfo.InvariantCulture));
        yield return ("page fault on fresh memory (ns)", PageFaultNanoseconds.ToString("F0", CultureInfo.InvariantCulture));
        yield return ("loopback TCP connect + accept + close (µs)", TcpConnectionMicroseconds.ToString("F1", CultureInfo.InvariantCulture));
        yield return ("process start + reap, /bin/true (ms)", ProcessSpawnMilliseconds.ToString("F2", CultureInfo.InvariantCulture));
    }
}

/// <summary>
/// <c>./resilience bench host</c>: the host's own costs, so that figures measured on two hosts can be compared. Session 20
/// found that a host was twice as slow as the one the suite's lanes were sized on only through <c>perf</c>: its compute
/// was ordinary, but every entry into the kernel cost far more (a hypervisor's paravirtualised interrupts in every
/// context switch and page fault) — and a call through the miniature is mostly kernel work (a TCP connection, a dozen
/// sends and receives, thread wake-ups, PostgreSQL's page faults). A few seconds; bounded; loopback only.
/// </summary>
internal static partial class HostBenchmark
{
    private const int Rounds = 3;
    private const int SystemCalls = 500_000;
    private const int FaultedBytes = 64 << 20;
    private const int TcpConnections = 1_000;
    private const int ProcessSpawns = 40;
    private const int HashedBytes = 32 << 20;

    public static HostFigures Measure()
    {
        return new HostFigures(
            Median(HashMegabytesPerSecond),
            Median(SystemCallNanoseconds),
            Median(PageFaultNanoseconds),
            Median(TcpConnectionMicroseconds),
            Median(ProcessSpawnMilliseconds));

        static double Median(Func<double> measure)
        {
            measure();
            var values = Enumerable.Range(0, Rounds).Select(_ => measure()).Order().ToList();
            return values[Rounds / 2];
        }
    }

    public static void Run()
    {
        Console.WriteLine("Host: what a call's parts cost here (medians of three rounds; compare hosts with these, not with one another)");
        var figures = Measure();
        foreach (var (what, figure) in figures.Rows())
        {
            Console.WriteLine($"  {what,-44} {figure,10}");
        }
    }

    private static double HashMegabytesPerSecond()
    {
        var data = new byte[HashedBytes];
        var started = Stopwatch.GetTimestamp();
        SHA256.HashData(data);
        return HashedBytes / 1e6 / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static double SystemCallNanoseconds()
    {
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < SystemCalls; i++)
        {
            GetParentProcessId();
        }

        return Stopwatch.GetElapsedTime(started).TotalNanoseconds / SystemCalls;
    }

    /// <summary>Time per minor fault, counted by the kernel (transparent huge pages may serve several pages with one).</summary>
    private static unsafe double PageFaultNanoseconds()
    {
        var memory = (byte*)NativeMemory.Alloc(FaultedBytes);
        try
        {
            var faultsBefore = MinorFaults();
            var started = Stopwatch.GetTimestamp();
            for (var offset = 0; offset < FaultedBytes; offset += Environment.SystemPageSize)
            {
                memory[offset] = 1;
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            return elapsed.TotalNanoseconds / Math.Max(1, MinorFaults() - faultsBefore);
        }
        finally
        {
            NativeMemory.Free(memory);
        }
    }

    private static double TcpConnectionMicroseconds()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(16);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < TcpConnections; i++)
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(listener.LocalEndPoint!);
            using var accepted = listener.Accept();
            client.Close();
            accepted.Close();
        }

        return Stopwatch.GetElapsedTime(started).TotalMicroseconds / TcpConnections;
    }

    private static double ProcessSpawnMilliseconds()
    {
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < ProcessSpawns; i++)
        {
            using var process = Process.Start(new ProcessStartInfo("/bin/true") { UseShellExecute = false })!;
            process.WaitForExit();
        }

        return Stopwatch.GetElapsedTime(started).TotalMilliseconds / ProcessSpawns;
    }

    /// <summary>This process's minor faults so far (/proc/self/stat, field 10).</summary>
    private static long MinorFaults()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], CultureInfo.InvariantCulture);
    }

    [LibraryImport("libc", EntryPoint = "getppid")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int GetParentProcessId();
}

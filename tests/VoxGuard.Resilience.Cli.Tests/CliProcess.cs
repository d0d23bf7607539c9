using System.Diagnostics;
using System.Text;

namespace VoxGuard.Resilience.Cli.Tests;

/// <summary>The real <c>voxguard-resilience</c> CLI run as a child process, as a user runs it.</summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    private CliProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, line) => Append(_output, line.Data);
        _process.ErrorDataReceived += (_, line) => Append(_error, line.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output { get { lock (_output) { return _output.ToString(); } } }

    public string Error { get { lock (_error) { return _error.ToString(); } } }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The repository's root (where VoxGuard.Resilience.sln is); the CLI runs from there, as ./resilience runs it.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "VoxGuard.Resilience.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new DirectoryNotFoundException("VoxGuard.Resilience.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>
    /// The run root every CLI these tests start uses (VOXGUARD_RESILIENCE_RUN_ROOT): <c>down</c> and <c>fault</c> then
    /// see only the topologies these tests started, never one someone else serves on the default root. Short, because
    /// HAProxy's stats socket path inside it must stay under 98 characters.
    /// </summary>
    public static string RunRoot { get; } = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : "/tmp", $"vgr-cli-{Environment.ProcessId}");

    public static CliProcess Start(params string[] arguments) => StartWith(new Dictionary<string, string>(), arguments);

    /// <summary>The CLI with <paramref name="environment"/> added to its environment.</summary>
    public static CliProcess StartWith(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.Environment["VOXGUARD_RESILIENCE_RUN_ROOT"] = RunRoot;
        start.ArgumentList.Add(CliAssemblyPath);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new CliProcess(Process.Start(start)!);
    }

    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] arguments)
    {
        using var cli = Start(arguments);
        var exitCode = await cli.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return (exitCode, cli.Output, cli.Error);
    }

    /// <summary>
    /// A fixture's <c>up</c> on <paramref name="environmentFile"/> with the ci profile and a free link API port (and
    /// <paramref name="arguments"/>), returned once it serves; stopped again (<see cref="DownAsync"/>) when it does not.
    /// </summary>
    public static async Task<CliProcess> StartUpAsync(string environmentFile, TimeSpan timeout, params string[] arguments)
    {
        var up = Start(["up", "--env", environmentFile, "--profile", "ci", "--link-api", "127.0.0.1:0", .. arguments]);
        try
        {
            await up.WaitForOutputAsync("Serving until", timeout);
            return up;
        }
        catch
        {
            await DownAsync(up);
            throw;
        }
    }

    /// <summary>A fixture's teardown of the <c>up</c> it started: <c>down</c> while it still serves, then the process released.</summary>
    public static async Task DownAsync(CliProcess? up)
    {
        if (up is not null && !up.HasExited)
        {
            await RunAsync("down");
        }

        up?.Dispose();
    }

    /// <summary>Waits until a line of standard output contains <paramref name="text"/>.</summary>
    public async Task<string> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var line = Output.Split('\n').FirstOrDefault(candidate => candidate.Contains(text, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            if (_process.HasExited)
            {
                break;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"The CLI did not print '{text}'. Output: {Output} Error: {Error}");
    }

    public void SendSignal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (builder)
        {
            builder.AppendLine(line);
        }
    }

    /// <summary>The CLI built beside these tests: artifacts/bin/VoxGuard.Resilience.Cli/&lt;configuration&gt;/.</summary>
    internal static string CliAssemblyPath
    {
        get
        {
            var testDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            var path = Path.Combine(testDirectory.Parent!.Parent!.FullName, "VoxGuard.Resilience.Cli", testDirectory.Name, "voxguard-resilience.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"The CLI is not built at {path}; build the solution first.");
        }
    }
}

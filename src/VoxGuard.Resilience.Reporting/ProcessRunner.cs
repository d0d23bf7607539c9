using System.Diagnostics;
using System.Text;

namespace VoxGuard.Resilience.Reporting;

/// <summary>The end of a finished child process.</summary>
/// <param name="ExitCode">Its exit code.</param>
/// <param name="Output">Its standard output.</param>
/// <param name="Error">Its standard error.</param>
internal sealed record ProcessResult(int ExitCode, string Output, string Error);

/// <summary>Runs a program to completion with a time limit; on the limit or cancellation its whole process tree is killed.</summary>
internal static class ProcessRunner
{
    public static async Task<ProcessResult> RunAsync(string program, IEnumerable<string> arguments, string? workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
        process.StandardInput.Close();
        var output = new StringBuilder();
        var error = new StringBuilder();
        var reading = Task.WhenAll(
            Task.Run(async () => output.Append(await process.StandardOutput.ReadToEndAsync(CancellationToken.None).ConfigureAwait(false)), CancellationToken.None),
            Task.Run(async () => error.Append(await process.StandardError.ReadToEndAsync(CancellationToken.None).ConfigureAwait(false)), CancellationToken.None));
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            // Polled, not awaited again: a second WaitForExitAsync after a cancelled one once never completed
            // (docs/measured-facts.md, "Process.WaitForExitAsync after a cancelled wait").
            while (!process.HasExited)
            {
                await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"{program} {string.Join(' ', start.ArgumentList)} did not finish within {timeout.TotalSeconds:F0} s and was killed.");
        }

        await reading.ConfigureAwait(false);
        return new ProcessResult(process.ExitCode, output.ToString(), error.ToString());
    }
}

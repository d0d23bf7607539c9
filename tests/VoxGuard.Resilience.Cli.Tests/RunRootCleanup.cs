namespace VoxGuard.Resilience.Cli.Tests;

/// <summary>After every test: whatever a failed test left in the tests' own run root is stopped and reaped, and the root removed.</summary>
[SetUpFixture]
public sealed class RunRootCleanup
{
    [OneTimeTearDown]
    public async Task ReapAsync()
    {
        if (!Directory.Exists(CliProcess.RunRoot))
        {
            return;
        }

        if (Directory.EnumerateFileSystemEntries(CliProcess.RunRoot).Any())
        {
            await CliProcess.RunAsync("down"); // scoped to the tests' run root by CliProcess
        }

        if (Directory.Exists(CliProcess.RunRoot) && !Directory.EnumerateFileSystemEntries(CliProcess.RunRoot).Any())
        {
            Directory.Delete(CliProcess.RunRoot);
        }
    }
}

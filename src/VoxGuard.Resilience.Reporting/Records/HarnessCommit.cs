namespace VoxGuard.Resilience.Reporting.Records;

/// <summary>The git commit of the harness checkout a drill ran from, for the drill record.</summary>
public static class HarnessCommit
{
    /// <summary>
    /// "&lt;sha&gt;", "&lt;sha&gt; (with uncommitted changes)", or "unknown (…)" when <paramref name="repository"/> is
    /// not a git checkout or git is missing.
    /// </summary>
    public static async Task<string> DescribeAsync(string repository, CancellationToken cancellationToken = default)
    {
        try
        {
            var head = await ProcessRunner.RunAsync("git", ["-C", repository, "rev-parse", "HEAD"], repository, TimeSpan.FromSeconds(15), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (head.ExitCode != 0)
            {
                return $"unknown ({repository} is not a git checkout)";
            }

            var status = await ProcessRunner.RunAsync("git", ["-C", repository, "status", "--porcelain", "--untracked-files=no"], repository, TimeSpan.FromSeconds(15), cancellationToken: cancellationToken).ConfigureAwait(false);
            var sha = head.Output.Trim();
            return status.ExitCode == 0 && status.Output.Trim().Length > 0 ? $"{sha} (with uncommitted changes)" : sha;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown (git is not installed)";
        }
    }
}

using System.Diagnostics;
using System.Text.RegularExpressions;

namespace VoxGuard.Resilience.Containers;

/// <summary>
/// The images <c>./resilience images build</c> makes (scripts/images.sh), built when missing: it is idempotent and
/// cached by content, so asking costs a few seconds once they exist.
/// </summary>
/// <param name="Servers">Every server of the topology (PostgreSQL, Patroni, etcd, Redis, Sentinel, Kamailio, HAProxy…).</param>
/// <param name="Harness">The servers image with the .NET runtime, the link server and the ACM engine; null when only the servers image was asked for.</param>
public sealed partial record TopologyImages(string Servers, string? Harness)
{
    /// <summary>Runs <c>scripts/images.sh build</c> in <paramref name="repositoryRoot"/> and returns the tags it reports.</summary>
    /// <param name="repositoryRoot">The checkout.</param>
    /// <param name="serversOnly">Only the servers image (no dotnet publish, no harness image).</param>
    /// <param name="cancellationToken">Stops waiting (the build is killed with its process group by the caller's run).</param>
    /// <exception cref="ContainerEngineException">The build failed; its output is in the message.</exception>
    public static async Task<TopologyImages> EnsureBuiltAsync(string repositoryRoot, bool serversOnly = false, CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(repositoryRoot, "scripts", "images.sh"), "build", .. serversOnly ? new[] { "--servers-only" } : []])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = repositoryRoot,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        var text = await output.ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new ContainerEngineException($"./resilience images build failed (exit {process.ExitCode}): {await error.ConfigureAwait(false)}{text}");
        }

        string Tag(string image) => ImageLine().Matches(text).FirstOrDefault(match => match.Groups["image"].Value == image)?.Groups["tag"].Value
            ?? throw new ContainerEngineException($"./resilience images build reported no {image} image: {text}");
        return new TopologyImages(Tag("servers"), serversOnly ? null : Tag("harness"));
    }

    [GeneratedRegex(@"^(?<image>servers|harness)\s+(?<tag>localhost/voxguard/\S+)\s", RegexOptions.Multiline)]
    private static partial Regex ImageLine();
}

using System.CommandLine;
using VoxGuard.Resilience.Topology.Compose;
using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Cli.Commands;

/// <summary>
/// <c>compose render</c>: the configuration files of docker-compose.chaos.yml from an environment, by the same generators
/// the local topology uses. The compose file's <c>config</c> service runs it in the harness image before anything starts.
/// </summary>
internal static class ComposeCommand
{
    public static Command Create()
    {
        var environmentName = new Option<string>("--env")
        {
            Description = "The environment: a file in environments/ without .yaml, or a path to a .yaml file.",
            DefaultValueFactory = _ => EnvironmentLoader.DefaultEnvironment,
        };
        var profile = new Option<string?>("--profile")
        {
            Description = "The profile to apply (e.g. documented, ci); default: the file's default_profile.",
        };
        var output = new Option<string>("--out")
        {
            Description = "The directory to write the files into.",
            DefaultValueFactory = _ => ComposeFiles.ConfigDirectory,
        };
        var render = new Command("render", "Write the configuration files of docker-compose.chaos.yml (HAProxy, Kamailio, Redis, Sentinel, health checks).")
        {
            environmentName, profile, output,
        };
        render.SetAction(async (parseResult, cancellationToken) =>
        {
            if (await EnvironmentCommand.LoadOrReportAsync(parseResult.GetValue(environmentName)!, parseResult.GetValue(profile)).ConfigureAwait(false) is not { } environment)
            {
                return ExitCodes.CannotRun;
            }

            var directory = parseResult.GetValue(output)!;
            var files = await ComposeFiles.WriteAsync(environment, directory, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"Environment {environment.Name}, profile {environment.Profile?.Name ?? "(none)"}: {files.Count} files in {directory}: {string.Join(", ", files)}");
            return ExitCodes.Success;
        });
        return new Command("compose", "docker-compose.chaos.yml: the miniature in containers.") { render };
    }
}

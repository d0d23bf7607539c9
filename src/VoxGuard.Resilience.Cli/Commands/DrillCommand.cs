using System.CommandLine;

namespace VoxGuard.Resilience.Cli.Commands;

/// <summary><c>drill</c>: the DR drill. Says plainly what is not built yet rather than passing vacuously.</summary>
internal static class DrillCommand
{
    public static Command Create()
    {
        var command = new Command("drill", "Run the disaster-recovery drill: scenario suites under SIP load, every target measured.");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("""
                The drill is not built yet, so no target has been measured and nothing passed.
                Built so far:  the inter-region link server (./resilience links serve).
                Still to come: the local three-region topology, SIP load, the scenario suites and the reports.
                """);
            return ExitCodes.CannotRun;
        });
        return command;
    }
}

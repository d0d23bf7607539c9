using System.CommandLine;
using System.Runtime.InteropServices;
using VoxGuard.Resilience.Cli.Commands;
using VoxGuard.Resilience.Sip.Transports;

// The commands on the call path (up: the link server and the engines it starts; load: the generator) run socket
// completions inline; the others keep .NET's default (drill's test hosts among them).
if (args.Length > 0 && args[0] is "up" or "load")
{
    InlineSocketCompletions.Enable();
}

var root = new RootCommand("VoxGuard.Resilience: chaos and disaster-recovery validation for the VoxGuard multi-region deployment.")
{
    DrillCommand.Create(),
    EnvironmentCommand.Create(),
    LinksCommand.Create(),
    LoadCommand.Create(),
    ReportCommand.Create(),
};
foreach (var command in TopologyCommands.Create().Concat(FaultCommands.Create()).Concat(BackupCommands.Create()))
{
    root.Subcommands.Add(command);
}

// Ctrl-C and SIGTERM both ask every command to stop and clean up; neither kills the process
// outright, so servers, ports and directories are always released.
using var stopping = new CancellationTokenSource();
void RequestStop(PosixSignalContext context)
{
    context.Cancel = true;
    stopping.Cancel();
}

using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, RequestStop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, RequestStop);

var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
var parsed = root.Parse(args);
var exitCode = await parsed.InvokeAsync(invocation, stopping.Token);

// A command line that does not parse is bad input: exit 2 as documented (System.CommandLine's own is 1, "target missed").
return parsed.Errors.Count > 0 ? ExitCodes.CannotRun : exitCode;

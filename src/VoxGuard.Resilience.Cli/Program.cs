using System.CommandLine;
using System.Runtime.InteropServices;
using VoxGuard.Resilience.Cli.Commands;
using VoxGuard.Resilience.Sip.Transports;

// up (the link server; the engines it starts inherit it) runs socket completions inline. The others keep .NET's
// default: load among them, whose generator spreads its parsing over both cores (inline, ours sustained 2000 CPS
// against SIPp's UAS instead of 5000, and its CPU per call did not drop), and drill's test hosts.
if (args.Length > 0 && args[0] == "up")
{
    InlineSocketCompletions.Enable();
}

var root = new RootCommand("VoxGuard.Resilience: chaos and disaster-recovery validation for the VoxGuard multi-region deployment.")
{
    ComposeCommand.Create(),
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

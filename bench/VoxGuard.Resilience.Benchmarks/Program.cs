using VoxGuard.Resilience.Benchmarks;

// Benchmarks for the harness's own machinery. They print figures and assert nothing.
//   ./resilience bench [all] [--profile <name>] [--env-file <path>]
//   ./resilience bench links [--duration <seconds>] [--round-trips <n>]
//   ./resilience bench topology [--runs <n>] [--profile <name>] [--env-file <path>] [--engine acm|sipp]
//   ./resilience bench sip [--step <seconds>]
//   ./resilience bench parser [--parses <n>]
//   ./resilience bench host
const string Usage = """
    Usage: ./resilience bench [<benchmark>] [options]

    Benchmarks:
      all     (the default) each benchmark below in a short form, then one table side
              by side: our generator's highest sustained CPS against SIPp's, CPS through
              the topology at >= 99.9 % answered driven by each, a link against a direct
              connection, cold start and teardown, and the host's own costs (host, below)
              so that two runs' tables can be compared. A few minutes.

      links   the link server (Toxiproxy-compatible TCP proxy) on loopback:
              pass-through throughput, added round-trip latency, and the accuracy
              of the latency and bandwidth toxics, each against a direct connection.

      topology
              cold start of the whole local topology to verified healthy, and
              teardown to nothing left, run after run.

      sip     the load generator against SIPp's own UAC, both calling SIPp's
              UAS over UDP at a rising rate: the highest rate each sustains.

      parser  the SIP parser on one thread: bytes allocated and time to parse each
              message a call through the topology carries. Seconds.

      host    what this host charges for a call's parts: compute on one core, a system
              call, a page fault, a loopback TCP connection, a process start. Compare
              two hosts' figures with these first. A few seconds.

    Options (links):
      --duration <seconds>   length of each throughput run (default 3, 0.5-10)
      --round-trips <n>      ping-pong round trips per latency run (default 5000, 100-50000)

    Options (topology):
      --runs <n>             start/stop cycles (default 5, 1-50)
      --profile <name>       the environment profile (default: the file's default_profile)
      --env-file <path>      an environment file instead of environments/local.yaml (e.g. one
                             moved to other loopback blocks, so as not to meet a topology that is up)
      --engine acm|sipp      what answers behind each proxy (default sipp; scenarios run acm)

    Options (sip):
      --step <seconds>       length of each rate step (default 5, 2-30)

    Options (parser):
      --parses <n>           parses of each message (default 200000, 1000-10000000)

    Options (all):
      --profile <name>       the environment profile (default ci)
      --env-file <path>      as for topology; the generator part also uses hosts .181-.186 of
                             its first region's block, the topology part .150-.200
    """;

if (args.Length > 0 && args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return 0;
}

if (args.Length == 0 || args[0] == "all" || args[0].StartsWith("--", StringComparison.Ordinal))
{
    string? summaryProfile = null;
    string? summaryEnvironment = null;
    for (var i = args.Length > 0 && args[0] == "all" ? 1 : 0; i < args.Length; i++)
    {
        if (args[i] == "--profile" && i + 1 < args.Length)
        {
            summaryProfile = args[++i];
        }
        else if (args[i] == "--env-file" && i + 1 < args.Length)
        {
            summaryEnvironment = args[++i];
        }
        else
        {
            Console.Error.WriteLine($"bench all: unknown or invalid option '{args[i]}'.");
            Console.Error.WriteLine(Usage);
            return 2;
        }
    }

    return await SummaryBenchmark.RunAsync(summaryProfile, summaryEnvironment).ConfigureAwait(false);
}

if (args[0] == "topology")
{
    var runs = 5;
    string? profile = null;
    string? environmentFile = null;
    var acmEngines = false;
    for (var i = 1; i < args.Length; i++)
    {
        if (args[i] == "--runs" && i + 1 < args.Length && int.TryParse(args[i + 1], out runs) && runs is >= 1 and <= 50)
        {
            i++;
        }
        else if (args[i] == "--profile" && i + 1 < args.Length)
        {
            profile = args[++i];
        }
        else if (args[i] == "--env-file" && i + 1 < args.Length)
        {
            environmentFile = args[++i];
        }
        else if (args[i] == "--engine" && i + 1 < args.Length && args[i + 1] is "acm" or "sipp")
        {
            acmEngines = args[++i] == "acm";
        }
        else
        {
            Console.Error.WriteLine($"bench topology: unknown or invalid option '{args[i]}' (--runs takes 1-50).");
            Console.Error.WriteLine(Usage);
            return 2;
        }
    }

    return await TopologyBenchmark.RunAsync(runs, profile, environmentFile, acmEngines).ConfigureAwait(false);
}

if (args[0] == "sip")
{
    var step = 5;
    if (args.Length == 3 && args[1] == "--step" && int.TryParse(args[2], out var parsed) && parsed is >= 2 and <= 30)
    {
        step = parsed;
    }
    else if (args.Length != 1)
    {
        Console.Error.WriteLine("bench sip: the only option is --step <seconds> (2-30).");
        return 2;
    }

    await SipLoadBenchmark.RunAsync(TimeSpan.FromSeconds(step), [100, 300, 1000, 2000, 3000, 3500, 4000, 4500, 5000]).ConfigureAwait(false);
    return 0;
}

if (args[0] == "parser")
{
    var parses = 200_000;
    if (args.Length == 3 && args[1] == "--parses" && int.TryParse(args[2], out var count) && count is >= 1000 and <= 10_000_000)
    {
        parses = count;
    }
    else if (args.Length != 1)
    {
        Console.Error.WriteLine("bench parser: the only option is --parses <n> (1000-10000000).");
        return 2;
    }

    SipParserBenchmark.Run(parses);
    return 0;
}

if (args[0] == "host")
{
    if (args.Length != 1)
    {
        Console.Error.WriteLine("bench host: takes no options.");
        return 2;
    }

    HostBenchmark.Run();
    return 0;
}

if (args[0] != "links")
{
    Console.Error.WriteLine($"bench: unknown benchmark '{args[0]}'.");
    Console.Error.WriteLine(Usage);
    return 2;
}

if (!LinkBenchmarkSettings.TryParse(args.AsSpan(1), out var settings, out var problem))
{
    Console.Error.WriteLine($"bench links: {problem}");
    Console.Error.WriteLine(Usage);
    return 2;
}

await LinkBenchmark.RunAsync(settings).ConfigureAwait(false);
return 0;

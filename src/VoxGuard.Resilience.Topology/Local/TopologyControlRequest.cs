using VoxGuard.Resilience.Links.Client;
using VoxGuard.Resilience.Topology.Backups;
using VoxGuard.Resilience.Topology.Links;

namespace VoxGuard.Resilience.Topology.Local;

/// <summary>The operations a <see cref="TopologyControlServer"/> performs on the topology it serves.</summary>
public static class TopologyControlActions
{
    /// <summary>Region loss: <see cref="LocalTopology.KillRegionAsync"/>.</summary>
    public const string Kill = "kill";

    /// <summary>Every process of a region SIGKILLed, the network intact: <see cref="LocalTopology.CrashRegionAsync"/>.</summary>
    public const string Crash = "crash";

    /// <summary>Every link of a region cut or blackholed, or its packets to them dropped: <see cref="LocalTopology.IsolateRegionAsync"/>.</summary>
    public const string Isolate = "isolate";

    /// <summary>Random packet loss on a region's network: <see cref="LocalTopology.DropPacketsAsync"/>.</summary>
    public const string Drop = "drop";

    /// <summary>Every link of a region back and its packet filter cleared: <see cref="LocalTopology.HealRegionAsync"/>.</summary>
    public const string Heal = "heal";

    /// <summary>Every process of a region SIGSTOPped: <see cref="LocalTopology.PauseRegionAsync"/>.</summary>
    public const string Pause = "pause";

    /// <summary>Every paused process of a region SIGCONTed: <see cref="LocalTopology.ResumeRegionAsync"/>.</summary>
    public const string Resume = "resume";

    /// <summary>Toxics added to one link: <see cref="LocalTopology.ShapeLinkAsync"/>.</summary>
    public const string Shape = "shape";

    /// <summary>The toxics <see cref="Shape"/> added removed: <see cref="LocalTopology.UnshapeLinkAsync"/>.</summary>
    public const string Unshape = "unshape";


    /// <summary>A failed or isolated region back as a replica region: <see cref="LocalTopology.RejoinRegionAsync"/>.</summary>
    public const string Rejoin = "rejoin";

    /// <summary>The documented failback: <see cref="LocalTopology.FailbackAsync"/>.</summary>
    public const string Failback = "failback";

    /// <summary>A backup taken now into a repository: <see cref="LocalTopology.BackUpAsync"/>.</summary>
    public const string Backup = "backup";

    /// <summary>The latest backup restored into new servers beside the topology: <see cref="LocalTopology.RestoreCopyAsync"/>.</summary>
    public const string Restore = "restore";

    /// <summary>Every action, in the order the help lists them.</summary>
    public static IReadOnlyList<string> All { get; } = [Kill, Crash, Isolate, Drop, Heal, Pause, Resume, Shape, Unshape, Rejoin, Failback, Backup, Restore];

    /// <summary>The actions that name one region.</summary>
    public static IReadOnlyList<string> OnRegion { get; } = [Kill, Crash, Isolate, Drop, Heal, Pause, Resume, Rejoin];
}

/// <summary>
/// One request to the topology's control channel (the JSON body of <c>POST /requests</c>). Build it with the
/// factories; <see cref="Validate"/> reports every problem of its shape in one message. Whether the region or link
/// exists and is in a state the action applies to is checked by the server, against the topology.
/// </summary>
/// <param name="Action">One of <see cref="TopologyControlActions"/>.</param>
public sealed record TopologyControlRequest(string Action)
{
    /// <summary>The region acted on (required for the region actions, optional for failback).</summary>
    public string? Region { get; init; }

    /// <summary>The link acted on (shape, unshape), e.g. lagos-abuja-pg.</summary>
    public string? Link { get; init; }

    /// <summary>For isolate: cut (default), blackhole or firewall (<see cref="IsolationModes"/>).</summary>
    public string? Mode { get; init; }

    /// <summary>For drop: the chance (above 0, at most 1) that each packet is dropped.</summary>
    public double? Probability { get; init; }

    /// <summary>For drop: udp, tcp or any (default any).</summary>
    public string? Protocol { get; init; }

    /// <summary>For drop: only packets to or from this port; null: every port.</summary>
    public int? Port { get; init; }

    /// <summary>For shape: the toxics to add, in order.</summary>
    public IReadOnlyList<ToxicSpec>? Toxics { get; init; }

    /// <summary>For backup and restore: postgres, redis or all (default all).</summary>
    public string? Store { get; init; }

    /// <summary>For backup: full, incr or diff (pgBackRest's names; default full).</summary>
    public string? Type { get; init; }

    /// <summary>For backup and restore: the repository, e.g. repo1 (default repo1); the server checks it exists.</summary>
    public string? Repository { get; init; }

    /// <summary>For restore: replay archived WAL up to this time (ISO 8601; UTC when it names no offset); null: to the end of the archive.</summary>
    public string? TargetTime { get; init; }

    /// <summary>The isolation modes <see cref="Mode"/> takes.</summary>
    public static IReadOnlyList<string> IsolationModes { get; } = ["cut", "blackhole", "firewall"];

    /// <summary>The protocols <see cref="Protocol"/> takes.</summary>
    public static IReadOnlyList<string> Protocols { get; } = ["any", "udp", "tcp"];

    /// <summary>The isolation mode <see cref="Mode"/> names (cut when unset).</summary>
    public IsolationMode IsolationMode => Mode switch
    {
        "blackhole" => IsolationMode.Blackhole,
        "firewall" => IsolationMode.Firewall,
        _ => IsolationMode.Cut,
    };

    /// <summary>The loss a drop request asks for (any protocol when unset).</summary>
    public PacketLoss Loss => new(Probability ?? 0, Protocol switch
    {
        "udp" => PacketProtocol.Udp,
        "tcp" => PacketProtocol.Tcp,
        _ => PacketProtocol.Any,
    }, Port);

    /// <summary>A request acting on one region (kill, crash, heal, pause, resume, rejoin).</summary>
    public static TopologyControlRequest OnRegion(string action, string region) => new(action) { Region = region };

    /// <summary>Cut or blackhole every link of <paramref name="region"/>, or drop its packets to them (firewall).</summary>
    public static TopologyControlRequest Isolate(string region, string mode = "cut") => new(TopologyControlActions.Isolate) { Region = region, Mode = mode };

    /// <summary>Drop <paramref name="probability"/> of <paramref name="region"/>'s packets (of <paramref name="protocol"/>, to or from <paramref name="port"/>).</summary>
    public static TopologyControlRequest Drop(string region, double probability, string protocol = "any", int? port = null) =>
        new(TopologyControlActions.Drop) { Region = region, Probability = probability, Protocol = protocol, Port = port };

    /// <summary>Add <paramref name="toxics"/> to <paramref name="link"/>.</summary>
    public static TopologyControlRequest Shape(string link, IReadOnlyList<ToxicSpec> toxics) => new(TopologyControlActions.Shape) { Link = link, Toxics = toxics };

    /// <summary>Remove what shape added to <paramref name="link"/>.</summary>
    public static TopologyControlRequest Unshape(string link) => new(TopologyControlActions.Unshape) { Link = link };

    /// <summary>Fail back to <paramref name="region"/> (the environment's primary when null).</summary>
    public static TopologyControlRequest Failback(string? region = null) => new(TopologyControlActions.Failback) { Region = region };

    /// <summary>Take a backup now of <paramref name="store"/> (postgres, redis, all) into <paramref name="repository"/>.</summary>
    public static TopologyControlRequest BackUp(string store = "all", string type = "full", string repository = "repo1") =>
        new(TopologyControlActions.Backup) { Store = store, Type = type, Repository = repository };

    /// <summary>Restore the latest backup of <paramref name="store"/> in <paramref name="repository"/> beside the topology.</summary>
    public static TopologyControlRequest RestoreCopy(string store = "all", string repository = "repo1", string? targetTime = null) =>
        new(TopologyControlActions.Restore) { Store = store, Repository = repository, TargetTime = targetTime };

    /// <summary>The stores <see cref="Store"/> names.</summary>
    public static IReadOnlyList<string> Stores { get; } = ["postgres", "redis", "all"];

    /// <summary>The backup types <see cref="Type"/> takes (pgBackRest's names).</summary>
    public static IReadOnlyList<string> BackupTypes { get; } = ["full", "incr", "diff"];

    /// <summary>The ISO 8601 forms <see cref="TargetTime"/> takes.</summary>
    private static readonly string[] TargetTimeFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd HH:mm:ss.FFFFFFFK", "yyyy-MM-dd HH:mm:ssK", "yyyy-MM-dd HH:mmK",
    ];

    /// <summary>The backup type <see cref="Type"/> names (full when unset).</summary>
    public PgBackRestBackupType BackupType => Type switch
    {
        "incr" => PgBackRestBackupType.Incremental,
        "diff" => PgBackRestBackupType.Differential,
        _ => PgBackRestBackupType.Full,
    };

    /// <summary><see cref="TargetTime"/> read (null when unset or malformed; <see cref="Validate"/> reports the latter).</summary>
    public DateTimeOffset? ParsedTargetTime =>
        TargetTime is not null && DateTimeOffset.TryParseExact(TargetTime.Trim(), TargetTimeFormats, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : null;

    /// <summary>Checks the request's shape; throws one <see cref="ArgumentException"/> naming every problem.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrEmpty(Action))
        {
            throw new ArgumentException($"Invalid request: it names no action (known: {string.Join(", ", TopologyControlActions.All)}).");
        }

        if (!TopologyControlActions.All.Contains(Action))
        {
            problems.Add($"unknown action '{Action}' (known: {string.Join(", ", TopologyControlActions.All)})");
        }

        foreach (var toxic in Toxics ?? [])
        {
            problems.AddRange(toxic is null ? ["a toxic is null"] : ToxicArguments.ProblemsOf(toxic));
        }

        var onRegion = TopologyControlActions.OnRegion.Contains(Action);
        if (onRegion && string.IsNullOrWhiteSpace(Region))
        {
            problems.Add($"{Action} needs a region");
        }

        if (!onRegion && Action != TopologyControlActions.Failback && Region is not null)
        {
            problems.Add($"{Action} takes no region");
        }

        var onLink = Action is TopologyControlActions.Shape or TopologyControlActions.Unshape;
        if (onLink && string.IsNullOrWhiteSpace(Link))
        {
            problems.Add($"{Action} needs a link");
        }

        if (!onLink && Link is not null)
        {
            problems.Add($"{Action} takes no link");
        }

        if (Mode is not null && (Action != TopologyControlActions.Isolate || !IsolationModes.Contains(Mode)))
        {
            problems.Add(Action == TopologyControlActions.Isolate ? $"mode '{Mode}' must be {string.Join(", ", IsolationModes)}" : $"{Action} takes no mode");
        }

        problems.AddRange(DropProblems());

        if (Action == TopologyControlActions.Shape && (Toxics is null || Toxics.Count == 0))
        {
            problems.Add("shape needs at least one toxic");
        }

        if (Action != TopologyControlActions.Shape && Toxics is not null)
        {
            problems.Add($"{Action} takes no toxic");
        }

        problems.AddRange(BackupProblems());
        if (problems.Count > 0)
        {
            throw new ArgumentException($"Invalid {Action} request: {string.Join("; ", problems)}.");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => string.Join(' ', new[]
    {
        Action, Region, Link, Mode, Probability is null ? null : Loss.ToString(), Store, Store == "redis" ? null : Type, Repository is null ? null : (Action == TopologyControlActions.Restore ? "from " : "into ") + Repository,
        TargetTime is null ? null : "to " + TargetTime,
    }.Where(part => part is not null));

    private List<string> DropProblems()
    {
        var problems = new List<string>();
        if (Action != TopologyControlActions.Drop)
        {
            problems.AddRange(new[] { (Probability is not null, "probability"), (Protocol is not null, "protocol"), (Port is not null, "port") }
                .Where(given => given.Item1).Select(given => $"{Action} takes no {given.Item2}"));
            return problems;
        }

        if (Probability is null)
        {
            problems.Add("drop needs a probability (e.g. 0.3)");
        }

        if (Protocol is not null && !Protocols.Contains(Protocol))
        {
            problems.Add($"protocol '{Protocol}' must be {string.Join(", ", Protocols)}");
        }

        if (Probability is not null)
        {
            problems.AddRange(Loss.Problems());
        }
        else if (Port is { } port && port is < 1 or > 65535)
        {
            problems.Add($"port {port} must be from 1 to 65535");
        }

        return problems;
    }

    private List<string> BackupProblems()
    {
        var problems = new List<string>();
        var backup = Action == TopologyControlActions.Backup;
        var restore = Action == TopologyControlActions.Restore;
        if (Store is not null && (!(backup || restore) || !Stores.Contains(Store)))
        {
            problems.Add(backup || restore ? $"unknown store '{Store}' (known: {string.Join(", ", Stores)})" : $"{Action} takes no store");
        }

        if (Type is not null && (!backup || !BackupTypes.Contains(Type)))
        {
            problems.Add(backup ? $"unknown backup type '{Type}' (known: {string.Join(", ", BackupTypes)})" : $"{Action} takes no backup type");
        }

        if (Repository is not null && !(backup || restore))
        {
            problems.Add($"{Action} takes no repository");
        }
        else if ((backup || restore) && string.IsNullOrWhiteSpace(Repository))
        {
            problems.Add($"{Action} needs a repository (e.g. repo1)");
        }

        if (TargetTime is not null && !restore)
        {
            problems.Add($"{Action} takes no target time");
        }
        else if (TargetTime is not null && ParsedTargetTime is null)
        {
            problems.Add($"target time '{TargetTime}' is not an ISO 8601 time (e.g. 2026-12-04T13:05:00Z, or 2026-12-04T14:05:00+01:00 in WAT)");
        }

        return problems;
    }
}

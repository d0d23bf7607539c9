namespace VoxGuard.Resilience.Topology.Environments;

/// <summary>
/// One topology, fully resolved: its regions, global balancer, inter-region links, replication figures, targets and
/// failback, with a profile's timings applied. Build it with <see cref="EnvironmentLoader"/>, which validates it;
/// a definition changed with <c>with</c> can be checked again with <see cref="Validate"/>.
/// </summary>
/// <param name="Name">The environment's name (local).</param>
/// <param name="Description">What it is for.</param>
/// <param name="Source">Where it came from, e.g. environments/local.yaml; named in every error.</param>
/// <param name="Profile">The profile applied (documented, ci), or null when the file defines none.</param>
/// <param name="Profiles">Every profile the file defines.</param>
/// <param name="Regions">The regions, in file order.</param>
/// <param name="Balancer">The global SIP balancer.</param>
/// <param name="Links">One link per pair of regions.</param>
/// <param name="Replication">Replication lag target and alert.</param>
/// <param name="Targets">The figures a run is judged against.</param>
/// <param name="Failback">Whether and when traffic returns to a recovered region.</param>
public sealed record EnvironmentDefinition(
    string Name,
    string Description,
    string Source,
    ProfileDefinition? Profile,
    IReadOnlyList<string> Profiles,
    IReadOnlyList<RegionDefinition> Regions,
    BalancerDefinition Balancer,
    IReadOnlyList<LinkDefinition> Links,
    ReplicationDefinition Replication,
    Targets Targets,
    FailbackDefinition Failback)
{
    /// <summary>
    /// The YAML it was read from (profiles included), so a process the harness starts — an engine — can load the very
    /// same environment with <see cref="Profile"/>; empty for a definition built in code.
    /// </summary>
    public string Yaml { get; init; } = string.Empty;

    /// <summary>
    /// Where the regions' servers run: on this machine's loopback (<c>local</c>), or each region in a container of its
    /// own on a network of its own (<c>containers</c>: the region blocks are those networks' subnets).
    /// </summary>
    public RegionHosting Hosts { get; init; } = RegionHosting.Loopback;

    /// <summary>The database stand-in's commit rule and Patroni timings (Patroni's defaults when the file has none).</summary>
    public DatabaseDefinition Database { get; init; } = DatabaseDefinition.PatroniDefaults;

    /// <summary>
    /// The backup strategy: schedule, WAL archiving, retention, repositories, Redis persistence, time compression (the
    /// guide's, on this environment's regions, when the file has no <c>backups</c> section).
    /// </summary>
    public BackupsDefinition Backups
    {
        get => _backups ?? BackupsDefinition.GuideDefaults(Regions);
        init => _backups = value;
    }

    private readonly BackupsDefinition? _backups;

    /// <summary>The one region with role primary.</summary>
    public RegionDefinition Primary => Regions.Single(region => region.IsPrimary);

    /// <summary>The replicas in failover order (priority, then file order).</summary>
    public IReadOnlyList<RegionDefinition> Replicas =>
        [.. Regions.Where(region => !region.IsPrimary).OrderBy(region => region.Priority)];

    /// <summary>Every region in failover order: priority 1 first.</summary>
    public IReadOnlyList<RegionDefinition> ByPriority => [.. Regions.OrderBy(region => region.Priority)];

    /// <summary>
    /// How long the balancer takes, at worst, to mark a dead region down: interval × fall of the profile's health
    /// check (documented: 10 s × 5 = 50 s; ci: 500 ms × 3 = 1.5 s).
    /// </summary>
    public TimeSpan DetectionTime => Balancer.HealthCheck.DetectionTime;

    /// <summary>
    /// Whether detection alone fits inside the failover target. False for the guide's own timings: 50 s of
    /// detection cannot meet a 30 s failover, whatever else happens. A drill reports this; it is not an error.
    /// </summary>
    public bool DetectionMeetsFailoverTarget() => Balancer.HealthCheck.CanDetectWithin(Targets.Failover);

    /// <summary>
    /// The finding <c>env</c> and <c>drill</c> print when <see cref="DetectionMeetsFailoverTarget"/> is false (null when
    /// it holds): how long the checks alone take, and that only the circuit breaker, while calls flow, can do better.
    /// </summary>
    public string? DetectionFinding()
    {
        if (DetectionMeetsFailoverTarget())
        {
            return null;
        }

        var check = Balancer.HealthCheck;
        return $"detection alone takes up to {DurationText.InSeconds(DetectionTime)} (interval {DurationText.InSeconds(check.Interval)} × fall {check.Fall}), beyond the {DurationText.InSeconds(Targets.Failover)} failover target: " +
            $"these timings cannot meet it{(Balancer.CircuitBreaker.Enabled ? " without calls to trip the circuit breaker" : string.Empty)}.";
    }

    /// <summary>The region of that name, or an <see cref="EnvironmentException"/> listing the known ones.</summary>
    public RegionDefinition Region(string name) =>
        Regions.FirstOrDefault(region => string.Equals(region.Name, name, StringComparison.Ordinal))
        ?? throw EnvironmentException.UnknownRegion(Source, Name, name, Regions.Select(region => region.Name));

    /// <summary>The link joining two regions (in either order), or null when there is none.</summary>
    public LinkDefinition? LinkBetween(string a, string b) => Links.FirstOrDefault(link => link.Joins(a, b));

    /// <summary>
    /// Every service's traffic between two regions crosses its own named link: each link × each service, named
    /// <c>&lt;from&gt;-&lt;to&gt;-&lt;service&gt;</c> (lagos-abuja-sip, lagos-abuja-engine, lagos-abuja-redis,
    /// lagos-abuja-sentinel, lagos-abuja-pg, …), in link order then service order.
    /// </summary>
    /// <param name="services">The services to expand; all of <see cref="RegionServices.All"/> when null.</param>
    public IReadOnlyList<ServiceLink> ExpandLinks(IEnumerable<RegionService>? services = null)
    {
        var chosen = (services ?? RegionServices.All).Distinct().ToList();
        return
        [
            .. from link in Links
               from service in chosen
               select new ServiceLink($"{link.Name}-{service.LinkSuffix()}", link.From, link.To, service, link.Latency),
        ];
    }

    /// <summary>Checks every rule again; throws one <see cref="EnvironmentException"/> naming every problem.</summary>
    public void Validate()
    {
        var problems = new ProblemList();
        EnvironmentValidator.Validate(this, problems);
        if (problems.Count > 0)
        {
            throw EnvironmentException.Invalid(Source, problems.Items);
        }
    }
}

/// <summary>Where an environment's regions run (<c>hosts:</c> in its file).</summary>
public enum RegionHosting
{
    /// <summary>Every server on this machine, each region on its own 127.x.y.0/24 block (<c>hosts: loopback</c>, the default).</summary>
    Loopback,

    /// <summary>
    /// Each region a container of its own, alone on an internal network whose subnet is the region's block (private,
    /// not loopback); the region's servers run in its network namespace, and reach other regions only through the link
    /// server on this machine's side of each network (<c>hosts: containers</c>).
    /// </summary>
    Containers,
}

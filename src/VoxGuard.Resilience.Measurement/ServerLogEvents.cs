using System.Text.RegularExpressions;
using VoxGuard.Resilience.Contracts;

namespace VoxGuard.Resilience.Measurement;

/// <summary>
/// The lines of the servers' logs that tell a failover's story in the servers' own words — Patroni taking or losing the
/// leader lock, PostgreSQL promoting or following, a Sentinel judging the master down and switching it, Redis changing
/// role, etcd's quorum electing a leader, the balancer marking a region DOWN or UP — each named in plain words. A server that repeats itself (a
/// replica's "could not connect" every 110 ms, Patroni's loop every second) gives one event per change, not one per line.
/// Which server said it is read from its name in the run (<c>abuja-patroni</c>, <c>lagos-sentinel</c>, <c>sip-balancer</c>).
/// </summary>
public static partial class ServerLogEvents
{
    // A server's lines about one thing (Patroni's leader lock, its PostgreSQL's state) are one topic: a line is an event
    // when it says something else than the last one on the same topic did. (Per server alone, a replica's alternating
    // "Lock owner" and "could not connect" lines would each be a change.)
    private sealed record Rule(string ServerSuffix, string Topic, Regex Pattern, Func<Match, string> Describe);

    private static readonly Rule[] Rules =
    [
        // Patroni (PostgreSQL's lines come through it: it starts PostgreSQL with its own output). First match wins.
        new("-patroni", "lock", Contains("PAUSE: "), _ => "Patroni paused (maintenance mode): it will not fail over"),
        new("-patroni", "lock", Contains("promoted self to leader by acquiring session lock"), _ => "Patroni promoted its node (took the leader lock)"),
        new("-patroni", "lock", Contains("acquired session lock as a leader"), _ => "Patroni took the leader lock"),
        new("-patroni", "lock", new Regex(@"[Dd]emot(ed|ing) self\b[^,]*", RegexOptions.CultureInvariant), match => $"Patroni demoted its node ({match.Value.Trim()})"),
        new("-patroni", "lock", Contains("i am not the healthiest node"), _ => "Patroni stood back: not the healthiest node"),
        new("-patroni", "lag", Contains("exceeds maximum replication lag"), _ => "Patroni: a standby exceeds maximum_lag_on_failover"),
        new("-patroni", "lock", new Regex(@"Lock owner: ([^;]+); I am", RegexOptions.CultureInvariant),
            match => match.Groups[1].Value == "None" ? "leader lock held by nobody" : $"leader lock held by {match.Groups[1].Value}"),
        new("-patroni", "lock", new Regex(@"no action\. I am \(([^)]+)\), the leader with the lock", RegexOptions.CultureInvariant), match => $"leader lock held by {match.Groups[1].Value}"),
        new("-patroni", "postgres", Contains("received promote request"), _ => "PostgreSQL asked to promote"),
        new("-patroni", "postgres", new Regex(@"selected new timeline ID: (\d+)", RegexOptions.CultureInvariant), match => $"PostgreSQL on new timeline {match.Groups[1].Value}"),
        new("-patroni", "postgres", Contains("database system is ready to accept connections"), _ => "PostgreSQL accepting writes (primary)"),
        new("-patroni", "postgres", Contains("database system is ready to accept read-only connections"), _ => "PostgreSQL accepting reads (standby)"),
        new("-patroni", "postgres", new Regex(@"(?:started|restarted) WAL streaming .*on timeline (\d+)|started streaming WAL from primary .*on timeline (\d+)", RegexOptions.CultureInvariant),
            match => $"PostgreSQL streaming from the primary (timeline {match.Groups[1].Value}{match.Groups[2].Value})"),
        new("-patroni", "postgres", Contains("could not connect to the primary server"), _ => "PostgreSQL cannot reach its primary"),
        new("-patroni", "postgres", Contains("replication terminated by primary server"), _ => "PostgreSQL: the primary ended replication"),
        new("-patroni", "rewind", Contains("running pg_rewind from"), _ => "Patroni rewinding its node (pg_rewind)"),
        new("-patroni", "postgres", Contains("received fast shutdown request"), _ => "PostgreSQL shutting down"),
        // Redis Sentinel
        new("-sentinel", "failover", new Regex(@"\+sdown master \S+ (\S+ \d+)", RegexOptions.CultureInvariant), match => $"Sentinel sees the master {match.Groups[1].Value} down (sdown)"),
        new("-sentinel", "failover", new Regex(@"-sdown master \S+ (\S+ \d+)", RegexOptions.CultureInvariant), match => $"Sentinel sees the master {match.Groups[1].Value} again"),
        new("-sentinel", "failover", new Regex(@"\+odown master \S+ (\S+ \d+)", RegexOptions.CultureInvariant), match => $"Sentinels agree the master {match.Groups[1].Value} is down (odown)"),
        new("-sentinel", "failover", Contains("+elected-leader"), _ => "Sentinel elected to lead the failover"),
        new("-sentinel", "failover", new Regex(@"\+selected-slave slave (\S+)", RegexOptions.CultureInvariant), match => $"Sentinel chose replica {match.Groups[1].Value}"),
        new("-sentinel", "failover", new Regex(@"\+promoted-slave slave (\S+)", RegexOptions.CultureInvariant), match => $"Sentinel: replica {match.Groups[1].Value} promoted"),
        new("-sentinel", "failover", new Regex(@"\+switch-master \S+ \S+ \d+ (\S+) (\d+)", RegexOptions.CultureInvariant), match => $"Sentinel switched the master to {match.Groups[1].Value}:{match.Groups[2].Value}"),
        new("-sentinel", "failover", new Regex(@"\+failover-abort-(\S+)", RegexOptions.CultureInvariant), match => $"Sentinel aborted the failover ({match.Groups[1].Value})"),
        // Redis
        new("-redis", "role", Contains("MASTER MODE enabled"), _ => "Redis became master"),
        new("-redis", "role", new Regex(@"Connecting to MASTER (\S+)", RegexOptions.CultureInvariant), match => $"Redis replicating from {match.Groups[1].Value}"),
        new("-redis", "role", Contains("MASTER <-> REPLICA sync: Finished with success"), _ => "Redis synced from its master"),
        new("-redis", "role", Contains("Connection with master lost"), _ => "Redis lost its master"),
        // etcd, Patroni's quorum (zap JSON lines; a member names itself and others by hex ID, so its own log says who).
        new("-etcd", "raft", new Regex(@"became leader at term (\d+)", RegexOptions.CultureInvariant), match => $"etcd became the quorum's leader (term {match.Groups[1].Value})"),
        new("-etcd", "raft", new Regex(@"raft\.node: (\S+) elected leader (\S+) at term (\d+)", RegexOptions.CultureInvariant),
            match => match.Groups[1].Value == match.Groups[2].Value
                ? $"etcd became the quorum's leader (term {match.Groups[3].Value})"
                : $"etcd follows the leader elected at term {match.Groups[3].Value}"),
        new("-etcd", "raft", new Regex(@"lost leader \S+ at term (\d+)", RegexOptions.CultureInvariant), match => $"etcd lost its leader (term {match.Groups[1].Value})"),
        // With --pre-vote a member cut off from the others asks again every election timeout at the same term.
        new("-etcd", "raft", new Regex(@"is starting a new election at term (\d+)", RegexOptions.CultureInvariant), match => $"etcd calling an election (term {match.Groups[1].Value})"),
        // The balancer (HAProxy)
        // HAProxy's reason "Health analyze" is its circuit breaker (observe layer4): calls' connections, not its checks.
        new("sip-balancer", "servers", new Regex(@"Server \S+/(\S+) is (DOWN|UP)(?:, reason: Health analyze, info: ""Detected (\d+) consecutive errors)?", RegexOptions.CultureInvariant),
            match => $"balancer marked {match.Groups[1].Value} {match.Groups[2].Value}{(match.Groups[3].Success ? $": its circuit breaker tripped ({match.Groups[3].Value} calls in a row failed to connect)" : string.Empty)}"),
        // The dispatcher's circuit breaker names the region by its SIP address (KamailioConfig.BalancerFor).
        new("sip-balancer", "servers", new Regex(@"circuit breaker: (\S+) \(\S+\) marked down after (\d+) calls", RegexOptions.CultureInvariant),
            match => $"balancer marked {match.Groups[1].Value} DOWN: its circuit breaker tripped ({match.Groups[2].Value} calls in a row got no reply)"),
        new("sip-balancer", "servers", new Regex(@"backend (\S+) has no server available", RegexOptions.CultureInvariant), match => $"balancer: no server left in {match.Groups[1].Value}"),
    ];

    /// <summary>What <paramref name="line"/> of server <paramref name="server"/> means, or null when it is not part of the story.</summary>
    public static string? Describe(string server, string line) => Classify(server, line)?.Meaning;

    private static (string Topic, string Meaning)? Classify(string server, string line)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(line);
        foreach (var rule in Rules)
        {
            if (server.EndsWith(rule.ServerSuffix, StringComparison.Ordinal) && rule.Pattern.Match(line) is { Success: true } match)
            {
                return (rule.Topic, rule.Describe(match));
            }
        }

        return null;
    }

    /// <summary>
    /// The events of <paramref name="lines"/> (each server's lines in the order it wrote them), oldest first: a line
    /// becomes an event when it means something other than the same server's last line on the same topic.
    /// </summary>
    /// <param name="lines">Each server's lines, each server's in the order it wrote them.</param>
    /// <param name="endpointNames">What an address:port means (e.g. "127.0.3.200:6379" → "asaba's Redis"): a Sentinel
    /// names servers by address only; an event then says both.</param>
    public static IReadOnlyList<ServerEvent> From(IEnumerable<(TimeSpan At, string Server, string Line)> lines, IReadOnlyDictionary<string, string>? endpointNames = null)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var last = new Dictionary<(string Server, string Topic), string>();
        var events = new List<ServerEvent>();
        foreach (var (at, server, line) in lines)
        {
            if (Classify(server, line) is not var (topic, said))
            {
                continue;
            }

            var meaning = endpointNames is { Count: > 0 } ? Endpoint().Replace(said, match => Named(match, endpointNames)) : said;
            if (last.TryGetValue((server, topic), out var previous) && previous == meaning)
            {
                continue;
            }

            last[(server, topic)] = meaning;
            events.Add(new ServerEvent(at, server, meaning, line));
        }

        return [.. events.OrderBy(serverEvent => serverEvent.At)];
    }

    private static string Named(Match endpoint, IReadOnlyDictionary<string, string> names)
    {
        var address = $"{endpoint.Groups[1].Value}:{endpoint.Groups[2].Value}";
        return names.TryGetValue(address, out var name) ? $"{name} ({address})" : endpoint.Value;
    }

    // An IPv4 address and port as Sentinel writes them ("127.0.3.200 6379") or as the events do ("127.0.3.200:6379").
    [GeneratedRegex(@"\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})[: ](\d{1,5})\b", RegexOptions.CultureInvariant)]
    private static partial Regex Endpoint();

    private static Regex Contains(string text) => new(Regex.Escape(text), RegexOptions.CultureInvariant);
}

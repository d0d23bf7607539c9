using VoxGuard.Resilience.Measurement;

namespace VoxGuard.Resilience.Measurement.Tests;

/// <summary>The servers' own account of a failover, read from lines they wrote in a real region loss (ci profile).</summary>
[TestFixture]
public sealed class ServerLogEventsTests
{
    [TestCase("abuja-patroni", "2026-12-07 12:10:11,983 INFO: promoted self to leader by acquiring session lock", "Patroni promoted its node (took the leader lock)")]
    [TestCase("lagos-patroni", "2026-12-07 12:09:42,100 INFO: acquired session lock as a leader", "Patroni took the leader lock")]
    [TestCase("lagos-patroni", "2026-12-07 12:12:00,001 INFO: demoting self because I do not have the lock and I was a leader", "Patroni demoted its node (demoting self because I do not have the lock and I was a leader)")]
    [TestCase("asaba-patroni", "2026-12-07 12:10:11,904 INFO: following a different leader because i am not the healthiest node", "Patroni stood back: not the healthiest node")]
    [TestCase("abuja-patroni", "2026-12-07 12:10:11,000 INFO: Member asaba exceeds maximum replication lag", "Patroni: a standby exceeds maximum_lag_on_failover")]
    [TestCase("abuja-patroni", "2026-12-07 12:09:45,078 INFO: Lock owner: lagos; I am abuja", "leader lock held by lagos")]
    [TestCase("lagos-patroni", "2026-12-07 12:23:18,068 INFO: Lock owner: None; I am lagos", "leader lock held by nobody")]
    [TestCase("lagos-patroni", "2026-12-07 12:09:46,001 INFO: no action. I am (lagos), the leader with the lock", "leader lock held by lagos")]
    [TestCase("lagos-patroni", "2026-12-07 12:24:02,196 INFO: running pg_rewind from asaba", "Patroni rewinding its node (pg_rewind)")]
    [TestCase("lagos-patroni", "2026-12-07 12:09:46,001 INFO: PAUSE: no action. I am (lagos), the leader with the lock", "Patroni paused (maintenance mode): it will not fail over")]
    [TestCase("abuja-patroni", "2026-12-07 12:10:11.988 UTC [10995] LOG:  received promote request", "PostgreSQL asked to promote")]
    [TestCase("abuja-patroni", "2026-12-07 12:10:11.989 UTC [10995] LOG:  selected new timeline ID: 2", "PostgreSQL on new timeline 2")]
    [TestCase("abuja-patroni", "2026-12-07 12:10:12.007 UTC [10991] LOG:  database system is ready to accept connections", "PostgreSQL accepting writes (primary)")]
    [TestCase("abuja-patroni", "2026-12-07 12:09:45.706 UTC [10991] LOG:  database system is ready to accept read-only connections", "PostgreSQL accepting reads (standby)")]
    [TestCase("abuja-patroni", "2026-12-07 12:09:45.798 UTC [10996] LOG:  started streaming WAL from primary at 0/5000000 on timeline 1", "PostgreSQL streaming from the primary (timeline 1)")]
    [TestCase("asaba-patroni", "2026-12-07 12:10:14.182 UTC [12776] LOG:  restarted WAL streaming at 0/5000000 on timeline 2", "PostgreSQL streaming from the primary (timeline 2)")]
    [TestCase("asaba-patroni", "2026-12-07 12:09:53.001 UTC [12001] FATAL:  could not connect to the primary server: connection to server at \"pg-lagos\" (127.0.3.9), port 5432 failed: Connection refused", "PostgreSQL cannot reach its primary")]
    [TestCase("abuja-sentinel", "10835:X 07 Dec 2026 12:09:52.821 # +sdown master voxguard 127.0.1.200 6379", "Sentinel sees the master 127.0.1.200 6379 down (sdown)")]
    [TestCase("abuja-sentinel", "10835:X 07 Dec 2026 12:09:52.899 # +odown master voxguard 127.0.1.200 6379 #quorum 2/2", "Sentinels agree the master 127.0.1.200 6379 is down (odown)")]
    [TestCase("abuja-sentinel", "10835:X 07 Dec 2026 12:09:52.953 # +elected-leader master voxguard 127.0.1.200 6379", "Sentinel elected to lead the failover")]
    [TestCase("abuja-sentinel", "10835:X 07 Dec 2026 12:09:53.044 # +selected-slave slave 127.0.2.200:6379 127.0.2.200 6379 @ voxguard 127.0.1.200 6379", "Sentinel chose replica 127.0.2.200:6379")]
    [TestCase("abuja-sentinel", "10835:X 07 Dec 2026 12:09:53.930 # +promoted-slave slave 127.0.2.200:6379 127.0.2.200 6379 @ voxguard 127.0.1.200 6379", "Sentinel: replica 127.0.2.200:6379 promoted")]
    [TestCase("asaba-sentinel", "10836:X 07 Dec 2026 12:09:54.015 # +switch-master voxguard 127.0.1.200 6379 127.0.2.200 6379", "Sentinel switched the master to 127.0.2.200:6379")]
    [TestCase("abuja-redis", "10823:M 07 Dec 2026 12:09:53.098 * MASTER MODE enabled (user request from 'id=6 addr=127.0.0.1:58972')", "Redis became master")]
    [TestCase("asaba-redis", "10820:S 07 Dec 2026 12:09:54.100 * Connecting to MASTER 127.0.2.200:6379", "Redis replicating from 127.0.2.200:6379")]
    [TestCase("sip-balancer", "[WARNING]  (10894) : Server regions/lagos is DOWN, reason: Layer4 connection problem, info: \"Connection refused\"", "balancer marked lagos DOWN")]
    [TestCase("sip-balancer", "[WARNING]  (10894) : Server regions/lagos is UP, reason: Layer7 check passed", "balancer marked lagos UP")]
    [TestCase("sip-balancer", "[WARNING]  (2430) : Server regions/lagos is DOWN, reason: Health analyze, info: \"Detected 5 consecutive errors, last one was: L4 unsuccessful connection\". 2 active and 0 backup servers left.",
        "balancer marked lagos DOWN: its circuit breaker tripped (5 calls in a row failed to connect)")]
    [TestCase("sip-balancer", " 3(2844) WARNING: <script>: circuit breaker: lagos (127.0.94.1:5060) marked down after 5 calls in a row without a reply",
        "balancer marked lagos DOWN: its circuit breaker tripped (5 calls in a row got no reply)")]
    // etcd 3.4's own lines (zap JSON), from a three-member cluster whose leader was killed.
    [TestCase("abuja-etcd", "{\"level\":\"info\",\"ts\":\"2026-12-07T14:23:28.488Z\",\"caller\":\"raft/node.go:333\",\"msg\":\"raft.node: 6a234e98abc304ec lost leader 2efe5ae6ddd71c72 at term 2\"}", "etcd lost its leader (term 2)")]
    [TestCase("abuja-etcd", "{\"level\":\"info\",\"ts\":\"2026-12-07T14:23:28.488Z\",\"caller\":\"raft/raft.go:929\",\"msg\":\"6a234e98abc304ec is starting a new election at term 2\"}", "etcd calling an election (term 2)")]
    [TestCase("abuja-etcd", "{\"level\":\"info\",\"ts\":\"2026-12-07T14:23:28.490Z\",\"caller\":\"raft/raft.go:771\",\"msg\":\"6a234e98abc304ec became leader at term 3\"}", "etcd became the quorum's leader (term 3)")]
    [TestCase("abuja-etcd", "{\"level\":\"info\",\"ts\":\"2026-12-07T14:23:28.490Z\",\"caller\":\"raft/node.go:327\",\"msg\":\"raft.node: 6a234e98abc304ec elected leader 6a234e98abc304ec at term 3\"}", "etcd became the quorum's leader (term 3)")]
    [TestCase("asaba-etcd", "{\"level\":\"info\",\"ts\":\"2026-12-07T14:23:28.491Z\",\"caller\":\"raft/node.go:327\",\"msg\":\"raft.node: d1186191bab6f0fc elected leader 6a234e98abc304ec at term 3\"}", "etcd follows the leader elected at term 3")]
    public void A_line_that_tells_the_story_is_named_in_plain_words(string server, string line, string expected) =>
        Assert.That(ServerLogEvents.Describe(server, line), Is.EqualTo(expected));

    [TestCase("abuja-patroni", "2026-12-07 12:09:51,773 INFO: Selected new etcd server http://etcd-asaba:2379")]
    [TestCase("abuja-patroni", "2026-12-07 12:09:46,001 INFO: no action. I am (abuja), a secondary, and following a leader (lagos)")]
    [TestCase("lagos-kamailio", " 0(10871) NOTICE: <core> [core/main.c:2890]: main(): version: kamailio 5.6.3")]
    [TestCase("abuja-redis", "10835:X 07 Dec 2026 12:09:54.015 # +switch-master voxguard 127.0.1.200 6379 127.0.2.200 6379")]
    [TestCase("abuja-sentinel", "10823:M 07 Dec 2026 12:09:53.098 * MASTER MODE enabled")]
    [TestCase("abuja-etcd", "{\"level\":\"info\",\"ts\":\"2026-12-07T14:23:28.488Z\",\"caller\":\"raft/raft.go:735\",\"msg\":\"6a234e98abc304ec became pre-candidate at term 2\"}")]
    [TestCase("abuja-patroni", "{\"msg\":\"6a234e98abc304ec became leader at term 3\"}")]
    public void A_line_outside_the_story_or_from_another_kind_of_server_is_none(string server, string line) =>
        Assert.That(ServerLogEvents.Describe(server, line), Is.Null);

    [Test]
    public void A_server_repeating_itself_gives_one_event_per_change_of_each_topic_and_events_come_oldest_first()
    {
        var lines = new List<(TimeSpan At, string Server, string Line)>();
        for (var tick = 0; tick < 5; tick++)
        {
            lines.Add((TimeSpan.FromSeconds(1 + tick), "abuja-patroni", "INFO: Lock owner: lagos; I am abuja"));
            lines.Add((TimeSpan.FromSeconds(1.1 + tick), "abuja-patroni", "FATAL:  could not connect to the primary server: Connection refused"));
        }

        lines.Add((TimeSpan.FromSeconds(21), "abuja-patroni", "INFO: promoted self to leader by acquiring session lock"));
        lines.Add((TimeSpan.FromSeconds(22), "abuja-patroni", "INFO: no action. I am (abuja), the leader with the lock"));
        lines.Add((TimeSpan.FromSeconds(23), "abuja-patroni", "INFO: no action. I am (abuja), the leader with the lock"));
        // A rejoining node's rewind, logged between its lock lines, is a topic of its own: neither repeats.
        lines.Add((TimeSpan.FromSeconds(24), "lagos-patroni", "INFO: Lock owner: abuja; I am lagos"));
        lines.Add((TimeSpan.FromSeconds(24.5), "lagos-patroni", "INFO: running pg_rewind from abuja"));
        lines.Add((TimeSpan.FromSeconds(25), "lagos-patroni", "INFO: Lock owner: abuja; I am lagos"));
        lines.Add((TimeSpan.FromSeconds(25.5), "lagos-patroni", "INFO: running pg_rewind from abuja"));
        // Another server's lines, given after abuja's (each server's in its own order): merged by time.
        lines.Add((TimeSpan.FromSeconds(2.5), "sip-balancer", "Server regions/lagos is DOWN, reason: Layer4 connection problem"));

        var events = ServerLogEvents.From(lines);

        Assert.That(events.Select(said => (said.At.TotalSeconds, said.Server, said.Event)), Is.EqualTo(new[]
        {
            (1.0, "abuja-patroni", "leader lock held by lagos"),
            (1.1, "abuja-patroni", "PostgreSQL cannot reach its primary"),
            (2.5, "sip-balancer", "balancer marked lagos DOWN"),
            (21.0, "abuja-patroni", "Patroni promoted its node (took the leader lock)"),
            (22.0, "abuja-patroni", "leader lock held by abuja"),
            (24.0, "lagos-patroni", "leader lock held by abuja"),
            (24.5, "lagos-patroni", "Patroni rewinding its node (pg_rewind)"),
        }));
        Assert.That(events[3].Line, Is.EqualTo("INFO: promoted self to leader by acquiring session lock"), "each event keeps its line");
    }

    [Test]
    public void An_etcd_member_cut_off_says_once_that_it_calls_elections_and_a_new_leader_says_once_that_it_leads()
    {
        static string Raft(string message) => $"{{\"level\":\"info\",\"caller\":\"raft/raft.go:929\",\"msg\":\"{message}\"}}";
        var lines = new List<(TimeSpan At, string Server, string Line)>();
        for (var round = 0; round < 4; round++)
        {
            // Each pre-vote round, at the same term: the member never wins one without a quorum.
            lines.Add((TimeSpan.FromSeconds(1 + round), "lagos-etcd", Raft("2efe5ae6ddd71c72 is starting a new election at term 2")));
            lines.Add((TimeSpan.FromSeconds(1.01 + round), "lagos-etcd", Raft("2efe5ae6ddd71c72 became pre-candidate at term 2")));
            if (round == 0)
            {
                lines.Add((TimeSpan.FromSeconds(1.02), "lagos-etcd", Raft("raft.node: 2efe5ae6ddd71c72 lost leader 6a234e98abc304ec at term 2")));
            }
        }

        lines.Add((TimeSpan.FromSeconds(1.5), "abuja-etcd", Raft("6a234e98abc304ec became leader at term 3")));
        lines.Add((TimeSpan.FromSeconds(1.51), "abuja-etcd", Raft("raft.node: 6a234e98abc304ec elected leader 6a234e98abc304ec at term 3")));

        Assert.That(ServerLogEvents.From(lines).Select(said => (said.At.TotalSeconds, said.Server, said.Event)), Is.EqualTo(new[]
        {
            (1.0, "lagos-etcd", "etcd calling an election (term 2)"),
            (1.02, "lagos-etcd", "etcd lost its leader (term 2)"),
            (1.5, "abuja-etcd", "etcd became the quorum's leader (term 3)"),
            (2.0, "lagos-etcd", "etcd calling an election (term 2)"),
        }));
    }

    [Test]
    public void An_address_the_harness_can_name_is_named_beside_the_address()
    {
        var names = new Dictionary<string, string> { ["127.0.3.200:6379"] = "asaba's Redis" };
        var events = ServerLogEvents.From(
        [
            (TimeSpan.FromSeconds(1), "abuja-sentinel", "10835:X 07 Dec 2026 12:09:52.821 # +sdown master voxguard 127.0.1.200 6379"),
            (TimeSpan.FromSeconds(3), "abuja-sentinel", "10835:X 07 Dec 2026 12:09:55.084 # +switch-master voxguard 127.0.1.200 6379 127.0.3.200 6379"),
        ], names);

        Assert.That(events.Select(said => said.Event), Is.EqualTo(new[]
        {
            "Sentinel sees the master 127.0.1.200 6379 down (sdown)",
            "Sentinel switched the master to asaba's Redis (127.0.3.200:6379)",
        }));
    }
}

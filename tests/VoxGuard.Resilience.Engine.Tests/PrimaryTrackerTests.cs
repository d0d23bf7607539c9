using VoxGuard.Resilience.Topology.Environments;

namespace VoxGuard.Resilience.Engine.Tests;

[TestFixture]
public sealed class PrimaryTrackerTests
{
    private static readonly EnvironmentDefinition Environment = EnvironmentLoader.FromRepository().Load("local", "ci");

    [Test]
    public async Task Many_callers_failing_together_share_one_search()
    {
        var (tracker, release, searches) = SearchHeldUntilReleased(found: "abuja");

        var callers = Enumerable.Range(0, 50).Select(_ => tracker.ReconsiderAsync(Environment.Region("lagos"), CancellationToken.None)).ToList();
        release.SetResult();
        var found = await Task.WhenAll(callers);

        Assert.Multiple(() =>
        {
            Assert.That(searches(), Is.EqualTo(1));
            Assert.That(found.Select(region => region.Name), Is.All.EqualTo("abuja"));
            Assert.That(tracker.Current.Name, Is.EqualTo("abuja"));
        });
    }

    [Test]
    public async Task A_caller_whose_failure_is_already_handled_does_not_search_again()
    {
        var searches = 0;
        var tracker = new PrimaryTracker(Environment.Region("lagos"), _ =>
        {
            searches++;
            return Task.FromResult<RegionDefinition?>(Environment.Region("asaba"));
        });

        await tracker.ReconsiderAsync(Environment.Region("lagos"), CancellationToken.None);
        var late = await tracker.ReconsiderAsync(Environment.Region("lagos"), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(searches, Is.EqualTo(1), "a late failure against lagos is stale: asaba was already found");
            Assert.That(late.Name, Is.EqualTo("asaba"));
        });
    }

    [Test]
    public async Task After_a_search_that_found_nothing_the_next_failure_searches_again()
    {
        // Regression: a search finishing synchronously was kept as "running" forever, so the engine never looked again
        // and wrote to a dead primary for the rest of the run (seen in the Lagos-loss scenario: Asaba answered nothing).
        var searches = 0;
        var tracker = new PrimaryTracker(Environment.Region("lagos"), _ =>
        {
            searches++;
            return Task.FromResult<RegionDefinition?>(searches < 3 ? null : Environment.Region("abuja"));
        });

        await tracker.ReconsiderAsync(Environment.Region("lagos"), CancellationToken.None);
        await tracker.ReconsiderAsync(Environment.Region("lagos"), CancellationToken.None);
        var third = await tracker.ReconsiderAsync(Environment.Region("lagos"), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(searches, Is.EqualTo(3));
            Assert.That(third.Name, Is.EqualTo("abuja"));
        });
    }

    [Test]
    public async Task Before_the_first_write_every_caller_waits_for_one_look_and_later_writes_do_not_look_again()
    {
        var (tracker, release, searches) = SearchHeldUntilReleased(found: "abuja");

        var firstWrites = Enumerable.Range(0, 50).Select(_ => tracker.CurrentAsync(CancellationToken.None).AsTask()).ToList();
        Assert.That(firstWrites.Any(write => write.IsCompleted), Is.False, "no write goes anywhere before the look answers");
        release.SetResult();
        var targets = await Task.WhenAll(firstWrites);
        var later = await tracker.CurrentAsync(CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(targets.Select(region => region.Name), Is.All.EqualTo("abuja"), "where the look says the primary is, not where the topology began");
            Assert.That(later.Name, Is.EqualTo("abuja"));
            Assert.That(searches(), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_first_look_that_finds_nothing_keeps_the_initial_region_and_is_not_repeated()
    {
        var searches = 0;
        var tracker = new PrimaryTracker(Environment.Region("lagos"), _ =>
        {
            searches++;
            return Task.FromResult<RegionDefinition?>(null);
        });

        var first = await tracker.CurrentAsync(CancellationToken.None);
        var second = await tracker.CurrentAsync(CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(new[] { first.Name, second.Name }, Is.All.EqualTo("lagos"));
            Assert.That(searches, Is.EqualTo(1), "a Sentinel that cannot answer yet is asked again only after a write fails");
        });
    }

    /// <summary>A tracker starting at Lagos whose search finds <paramref name="found"/> once released; how many searches ran.</summary>
    private static (PrimaryTracker Tracker, TaskCompletionSource Release, Func<int> Searches) SearchHeldUntilReleased(string found)
    {
        var searches = 0;
        var release = new TaskCompletionSource();
        var tracker = new PrimaryTracker(Environment.Region("lagos"), async _ =>
        {
            Interlocked.Increment(ref searches);
            await release.Task;
            return Environment.Region(found);
        });
        return (tracker, release, () => Volatile.Read(ref searches));
    }

    [Test]
    public async Task A_search_that_finds_nothing_keeps_the_last_known_primary()
    {
        var tracker = new PrimaryTracker(Environment.Region("lagos"), _ => Task.FromResult<RegionDefinition?>(null));

        var after = await tracker.ReconsiderAsync(Environment.Region("lagos"), CancellationToken.None);

        Assert.That(after.Name, Is.EqualTo("lagos"));
    }
}

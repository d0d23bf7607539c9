using VoxGuard.Resilience.Topology.DataTier;

namespace VoxGuard.Resilience.Topology.Tests.DataTier;

/// <summary>
/// The SysV segment a postmaster records in its postmaster.pid (line 7: key and id): what a teardown waits for before it
/// removes the segments killed postmasters leave, so that another PostgreSQL running on the machine keeps nobody waiting.
/// </summary>
[TestFixture]
public sealed class SharedMemoryIdTests
{
    private string _file = null!;

    [SetUp]
    public void CreateFile() => _file = Path.GetTempFileName();

    [TearDown]
    public void RemoveFile() => File.Delete(_file);

    [Test]
    public void The_segment_id_is_the_second_field_of_line_7_of_postmaster_pid()
    {
        // As PostgreSQL 15 writes it: pid, data directory, start time, port, socket directory, listen address, shm key and id, status.
        File.WriteAllLines(_file, ["28202", "/dev/shm/run/lagos-pg", "1764852000", "5432", "/dev/shm/run/lagos-pg-socket", "127.0.1.4", "  5432001   1605687", "ready   "]);

        Assert.That(PostgresTier.SharedMemoryIdOf(_file), Is.EqualTo("1605687"));
    }

    [Test]
    public void A_postmaster_pid_without_a_segment_line_or_no_file_gives_none()
    {
        File.WriteAllLines(_file, ["28202", "/dev/shm/run/lagos-pg", "1764852000"]);

        Assert.Multiple(() =>
        {
            Assert.That(PostgresTier.SharedMemoryIdOf(_file), Is.Null);
            Assert.That(PostgresTier.SharedMemoryIdOf(_file + ".missing"), Is.Null);
        });
    }
}

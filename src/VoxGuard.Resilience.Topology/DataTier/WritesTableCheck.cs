using Npgsql;

namespace VoxGuard.Resilience.Topology.DataTier;

/// <summary>
/// The writes table checked as the guide's step 4 asks after a restore ("verify data integrity": row counts and
/// checksums), with PostgreSQL's own corruption checks: <c>amcheck</c>'s <c>verify_heapam</c> on the table and
/// <c>bt_index_check</c> (every heap tuple found in the index) on each of its indexes.
/// </summary>
public static class WritesTableCheck
{
    /// <summary>The table the engines write (created by <see cref="PostgresTier"/>).</summary>
    public const string Table = "voxguard_writes";

    /// <summary>
    /// Checks the table on the node <paramref name="connectionString"/> reaches; that node must be a primary (the
    /// <c>amcheck</c> extension is created if missing).
    /// </summary>
    public static async Task<WritesTableState> CheckAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, "CREATE EXTENSION IF NOT EXISTS amcheck", cancellationToken).ConfigureAwait(false);

        var problems = new List<string>();
        await using (var heap = new NpgsqlCommand($"SELECT blkno, offnum, msg FROM verify_heapam('{Table}')", connection))
        await using (var reader = await heap.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                problems.Add($"heap block {reader.GetInt64(0)} item {(reader.IsDBNull(1) ? "-" : reader.GetInt32(1))}: {reader.GetString(2)}");
            }
        }

        foreach (var index in await IndexesAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await ExecuteAsync(connection, $"SELECT bt_index_check('{index}'::regclass, true)", cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException exception)
            {
                // amcheck raises an error for the first corruption it meets in an index.
                problems.Add($"index {index}: {exception.MessageText}");
            }
        }

        await using var count = new NpgsqlCommand(
            $"SELECT count(*), count(DISTINCT id), coalesce(md5(string_agg(id, E'\\n' ORDER BY id COLLATE \"C\")), md5('')) FROM {Table}", connection);
        await using var counted = await count.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await counted.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new WritesTableState(counted.GetInt64(0), counted.GetInt64(1), counted.GetString(2), problems);
    }

    private static async Task<List<string>> IndexesAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = '{Table}'::regclass AND a.amname = 'btree'", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var indexes = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            indexes.Add(reader.GetString(0));
        }

        return indexes;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The writes table as <see cref="WritesTableCheck"/> found it.</summary>
/// <param name="Rows">Its row count.</param>
/// <param name="DistinctIds">How many distinct ids it holds.</param>
/// <param name="Checksum">md5 of the ids in byte order, one per line.</param>
/// <param name="Problems">What amcheck reported (empty: nothing).</param>
public sealed record WritesTableState(long Rows, long DistinctIds, string Checksum, IReadOnlyList<string> Problems);

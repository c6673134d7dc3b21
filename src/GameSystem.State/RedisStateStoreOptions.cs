namespace GameSystem.State;

/// <summary>Options of <see cref="RedisStateStore"/>.</summary>
public sealed record RedisStateStoreOptions
{
    /// <summary>The defaults: keys under <c>gs:state:</c> in the connection's default database.</summary>
    public static RedisStateStoreOptions Default { get; } = new();

    /// <summary>
    /// Prepended to every key in Redis, so several stores (or test runs) can share a server
    /// without seeing each other's keys. Listing never leaves it.
    /// </summary>
    public string KeyPrefix { get; init; } = "gs:state:";

    /// <summary>The Redis database number; -1 for the connection's default.</summary>
    public int Database { get; init; } = -1;

    /// <summary>
    /// Runs each small transaction shape (up to 24 steps) as a script of its own, like a
    /// prepared statement, instead of the general script that reads any plan; on by default.
    /// Both give the same results: the tests run the store both ways.
    /// </summary>
    public bool CompileTransactionShapes { get; init; } = true;
}

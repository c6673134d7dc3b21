using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// A header-only notice to the other side (a call or a stream cancelled) that nothing waits
/// on: the other side has its own bound (the deadline, the stream's heartbeat watchdog).
/// </summary>
internal static class BestEffortNotice
{
    /// <summary>How long a notice may wait for room in the connection's write buffer.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Sends the notice, or drops it when the connection is not open: NATS.Net's publish on a
    /// connection that is down waits for the reconnect, which would hold up whoever sends it
    /// (a process stopping after its nats-server went away waited out its whole shutdown).
    /// </summary>
    public static async ValueTask SendAsync(INatsConnection connection, string subject, NatsHeaders headers)
    {
        if (connection.ConnectionState != NatsConnectionState.Open)
        {
            return;
        }

        using var bound = new CancellationTokenSource(Timeout);
        try
        {
            await connection.PublishAsync(subject, headers: headers, cancellationToken: bound.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException)
        {
            // Dropped: the other side's own bound ends what the notice would have ended.
        }
    }
}

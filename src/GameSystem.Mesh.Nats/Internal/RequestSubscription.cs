using System.Buffers;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// The queue subscription of one service, at NATS.Net's lowest level: each message is
/// handed to the runner as raw bytes on the socket reader, so no NatsMsg, header
/// dictionary or channel hop is paid per request.
/// </summary>
internal sealed class RequestSubscription(INatsConnection connection, string subject, string queueGroup, ServiceRunner runner)
    : NatsSubBase(connection, connection.SubscriptionManager, subject, queueGroup, opts: null)
{
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the subscription has ended (unsubscribed or connection closed).</summary>
    public Task Completion => _completed.Task;

    protected override ValueTask ReceiveInternalAsync(string subject, string? replyTo, ReadOnlySequence<byte>? headersBuffer, ReadOnlySequence<byte> payloadBuffer)
    {
        runner.Accept(subject, replyTo, headersBuffer, payloadBuffer);
        return ValueTask.CompletedTask;
    }

    protected override void TryComplete() => _completed.TrySetResult();
}

using GameSystem.MeshTest.V1;
using Google.Protobuf;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Tests;

/// <summary>
/// A server stream driven by hand over plain NATS, as a client written in another language
/// from docs/wire-protocol.md drives it: every message of the protocol is visible.
/// </summary>
internal sealed class RawStream : IAsyncDisposable
{
    private readonly NatsConnection _connection;
    private readonly INatsSub<byte[]> _inbox;

    private RawStream(NatsConnection connection, INatsSub<byte[]> inbox)
    {
        _connection = connection;
        _inbox = inbox;
    }

    /// <summary>The server's control subject, once <c>open</c> has been read.</summary>
    public string? Control { get; private set; }

    /// <summary>Subscribes an inbox, then requests Count on it with exactly these headers.</summary>
    public static async Task<RawStream> StartAsync(MeshHarness mesh, CountRequest request, NatsHeaders headers, CancellationToken cancellationToken)
    {
        var inbox = mesh.ClientConnection.NewInbox();
        var sub = await mesh.ClientConnection.SubscribeCoreAsync<byte[]>(inbox, cancellationToken: cancellationToken);
        await mesh.ClientConnection.PublishAsync(mesh.SubjectOf("Count"), request.ToByteArray(), headers, inbox, cancellationToken: cancellationToken);
        return new RawStream(mesh.ClientConnection, sub);
    }

    /// <summary>The next message on the inbox, or null when none arrives within <paramref name="within"/>.</summary>
    public async Task<NatsMsg<byte[]>?> NextAsync(TimeSpan within, CancellationToken cancellationToken)
    {
        var msg = await ReadWithinAsync(_inbox, within, cancellationToken);
        if (msg is { } m && Header(m, "Gs-Stream") == "open")
        {
            Control = Header(m, "Gs-Control");
        }

        return msg;
    }

    /// <summary>The next message of a subscription, or null when none arrives within <paramref name="within"/>.</summary>
    public static async Task<NatsMsg<byte[]>?> ReadWithinAsync(INatsSub<byte[]> subscription, TimeSpan within, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(within);
        try
        {
            return await subscription.Msgs.ReadAsync(wait.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The next message, which must arrive within <paramref name="within"/>.</summary>
    public async Task<NatsMsg<byte[]>> ExpectAsync(TimeSpan within, CancellationToken cancellationToken) =>
        await NextAsync(within, cancellationToken)
        ?? throw new InvalidOperationException($"No stream message arrived within {within.TotalSeconds:0.#} s.");

    /// <summary>Publishes a control message (<c>heartbeat</c>, <c>credit</c>, <c>cancel</c>) to the server's control subject.</summary>
    public ValueTask SendAsync(string kind, CancellationToken cancellationToken, long? credit = null)
    {
        var headers = new NatsHeaders { ["Gs-Stream"] = kind };
        if (credit is { } k)
        {
            headers["Gs-Credit"] = k.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return _connection.PublishAsync(Control ?? throw new InvalidOperationException("The stream has not opened."), headers: headers, cancellationToken: cancellationToken);
    }

    /// <summary>What a message is in the stream protocol: open, heartbeat, end, data, or error (refused before open).</summary>
    public static string KindOf(NatsMsg<byte[]> msg) =>
        Header(msg, "Gs-Stream")
        ?? (Header(msg, "Gs-Seq") is not null ? "data" : Header(msg, "Nats-Service-Error-Code") is not null ? "error" : "unknown");

    public static string? Header(NatsMsg<byte[]> msg, string name) =>
        msg.Headers is not null && msg.Headers.TryGetValue(name, out var value) ? value.ToString() : null;

    public ValueTask DisposeAsync() => _inbox.DisposeAsync();
}

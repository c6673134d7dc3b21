using System.Globalization;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Tests;

/// <summary>
/// Plays the server side of one Count stream by hand over plain NATS (start the harness
/// with <c>serve: false</c>), to see exactly what the C# client sends and when.
/// </summary>
internal sealed class FakeStreamServer : IAsyncDisposable
{
    private readonly NatsConnection _connection;
    private readonly INatsSub<byte[]> _requests;
    private readonly INatsSub<byte[]> _control;
    private string? _replyTo;

    private FakeStreamServer(NatsConnection connection, INatsSub<byte[]> requests, INatsSub<byte[]> control, string controlSubject)
    {
        _connection = connection;
        _requests = requests;
        _control = control;
        ControlSubject = controlSubject;
    }

    public string ControlSubject { get; }

    public static async Task<FakeStreamServer> StartAsync(MeshHarness mesh, CancellationToken cancellationToken)
    {
        var connection = mesh.ServerConnection;
        var requests = await connection.SubscribeCoreAsync<byte[]>(mesh.SubjectOf("Count"), cancellationToken: cancellationToken);
        var controlSubject = connection.NewInbox();
        var control = await connection.SubscribeCoreAsync<byte[]>(controlSubject, cancellationToken: cancellationToken);
        await connection.PingAsync(cancellationToken);
        return new FakeStreamServer(connection, requests, control, controlSubject);
    }

    /// <summary>Waits for the stream request, and returns its headers.</summary>
    public async Task<NatsHeaders> ReceiveRequestAsync(CancellationToken cancellationToken)
    {
        var request = await _requests.Msgs.ReadAsync(cancellationToken);
        _replyTo = request.ReplyTo;
        return request.Headers ?? [];
    }

    /// <summary>Waits for the stream request, answers <c>open</c> with these values, and returns the request's headers.</summary>
    public Task<NatsHeaders> OpenAsync(int window, int heartbeatMs, CancellationToken cancellationToken) =>
        OpenAsync(window.ToString(CultureInfo.InvariantCulture), heartbeatMs.ToString(CultureInfo.InvariantCulture), cancellationToken);

    /// <summary>The same, with the header values exactly as given.</summary>
    public async Task<NatsHeaders> OpenAsync(string window, string heartbeat, CancellationToken cancellationToken)
    {
        var headers = await ReceiveRequestAsync(cancellationToken);
        await SendAsync(new NatsHeaders
        {
            ["Gs-Stream"] = "open",
            ["Gs-Control"] = ControlSubject,
            ["Gs-Window"] = window,
            ["Gs-Heartbeat"] = heartbeat,
        }, cancellationToken);
        return headers;
    }

    /// <summary>Publishes a stream message to the client's inbox.</summary>
    public ValueTask SendAsync(NatsHeaders headers, CancellationToken cancellationToken, byte[]? body = null) =>
        _connection.PublishAsync(_replyTo ?? throw new InvalidOperationException("No stream request arrived yet."), body ?? [], headers, cancellationToken: cancellationToken);

    /// <summary>The next message the client sent to the control subject, or null when none arrives within <paramref name="within"/>.</summary>
    public Task<NatsMsg<byte[]>?> NextControlAsync(TimeSpan within, CancellationToken cancellationToken) =>
        RawStream.ReadWithinAsync(_control, within, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _control.DisposeAsync();
        await _requests.DisposeAsync();
    }
}

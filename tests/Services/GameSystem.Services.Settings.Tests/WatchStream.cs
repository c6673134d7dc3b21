using GameSystem.Settings.V1;

namespace GameSystem.Services.Settings.Tests;

/// <summary>A WatchSettings stream read one message at a time; disposing it hangs up, as a client that goes away does.</summary>
internal sealed class WatchStream : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly IAsyncEnumerator<WatchSettingsResponse> _messages;
    private Task<bool>? _pending;

    private WatchStream(SettingsServiceClient client, WatchSettingsRequest request, CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _messages = client.WatchSettingsAsync(request, cancellationToken: _stop.Token).GetAsyncEnumerator(_stop.Token);
    }

    /// <summary>Opens a watch with <c>send_initial</c> and reads its snapshot up to the marker, so the watch is live when this returns.</summary>
    public static async Task<(WatchStream Stream, List<EffectiveSetting> Snapshot)> OpenAsync(SettingsServiceClient client, WatchSettingsRequest request, CancellationToken cancellationToken)
    {
        request.SendInitial = true;
        var stream = new WatchStream(client, request, cancellationToken);
        var snapshot = new List<EffectiveSetting>();
        while (true)
        {
            var message = await stream.NextAsync();
            if (message.InitialSnapshotComplete)
            {
                return (stream, snapshot);
            }

            Assert.Equal(SettingChangeType.Updated, message.ChangeType);
            snapshot.Add(message.Setting);
        }
    }

    /// <summary>Opens a watch without asking for a snapshot.</summary>
    public static WatchStream OpenBare(SettingsServiceClient client, WatchSettingsRequest request, CancellationToken cancellationToken) =>
        new(client, request, cancellationToken);

    /// <summary>The next message; fails the test if none comes within 20 seconds.</summary>
    public async Task<WatchSettingsResponse> NextAsync() =>
        await NextWithinAsync(TimeSpan.FromSeconds(20)) ?? throw new TimeoutException("No watch message came within 20s.");

    /// <summary>The next message if one comes within <paramref name="wait"/>; null otherwise (the read goes on in the background).</summary>
    public async Task<WatchSettingsResponse?> NextWithinAsync(TimeSpan wait)
    {
        _pending ??= _messages.MoveNextAsync().AsTask();
        var done = await Task.WhenAny(_pending, Task.Delay(wait, TestContext.Current.CancellationToken));
        if (done != _pending)
        {
            return null;
        }

        var more = await _pending;
        _pending = null;
        Assert.True(more, "the watch ended");
        return _messages.Current;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            if (_pending is not null)
            {
                await _pending;
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Grpc.Core.RpcException)
        {
        }

        try
        {
            await _messages.DisposeAsync();
        }
        catch (OperationCanceledException)
        {
        }
        catch (Grpc.Core.RpcException)
        {
        }

        _stop.Dispose();
    }
}

using System.Threading.Channels;
using GameSystem.CapabilityRegistry.V1;
using Grpc.Core;

namespace GameSystem.Services.CapabilityRegistry.Tests;

/// <summary>Reads a WatchProviders stream in the background, so a test waits for each message with a bound.</summary>
internal sealed class WatchReader : IAsyncDisposable
{
    private readonly Channel<WatchProvidersResponse> _messages = Channel.CreateUnbounded<WatchProvidersResponse>();
    private readonly CancellationTokenSource _stop;
    private readonly Task _reading;

    public WatchReader(CapabilityRegistryServiceClient client, WatchProvidersRequest request, CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var message in client.WatchProvidersAsync(request, cancellationToken: _stop.Token))
                {
                    await _messages.Writer.WriteAsync(message, _stop.Token);
                }

                _messages.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                _messages.Writer.TryComplete(ex);
            }
        }, CancellationToken.None);
    }

    /// <summary>The next message; fails after <paramref name="within"/> (default 10 s), or with the stream's error.</summary>
    public async Task<WatchProvidersResponse> NextAsync(TimeSpan? within = null)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(within ?? TimeSpan.FromSeconds(10));
        try
        {
            return await _messages.Reader.ReadAsync(timeout.Token);
        }
        catch (System.Threading.Channels.ChannelClosedException closed) when (closed.InnerException is RpcException error)
        {
            throw error;
        }
        catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
        {
            throw new TimeoutException($"No WatchProviders message within {within ?? TimeSpan.FromSeconds(10)}.");
        }
    }

    /// <summary>The next message, or null when none comes within <paramref name="within"/>.</summary>
    public async Task<WatchProvidersResponse?> NextOrNullAsync(TimeSpan within)
    {
        try
        {
            return await NextAsync(within);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    public async Task<List<(ProviderChangeType Change, string InstanceId, string Capability)>> TakeAsync(int count, TimeSpan? within = null)
    {
        var changes = new List<(ProviderChangeType, string, string)>();
        for (var i = 0; i < count; i++)
        {
            var message = await NextAsync(within);
            changes.Add((message.ChangeType, message.Provider?.Instance.InstanceId ?? "", message.Provider?.Capability.Name ?? (message.InitialSnapshotComplete ? "<snapshot complete>" : "")));
        }

        return changes;
    }

    /// <summary>The error the stream ended with.</summary>
    public async Task<RpcException> FailureAsync()
    {
        try
        {
            await NextAsync();
        }
        catch (RpcException ex)
        {
            return ex;
        }

        throw new InvalidOperationException("The watch did not fail.");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _reading;
        _stop.Dispose();
    }
}

using System.Diagnostics;
using GameSystem.MeshTest.V1;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Mesh.Nats.Tests;

/// <summary>The test service: does what each request asks and records what it saw.</summary>
internal sealed class RecordingProbeService : IProbeService
{
    private int _running;
    private long _appends;
    private int _maxRunning;

    public TaskCompletionSource<string> Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when a CountAsync stream has ended, however it ended.</summary>
    public TaskCompletionSource CountStopped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int MaxRunning => Volatile.Read(ref _maxRunning);

    public int Calls;

    /// <summary>Messages CountAsync has yielded, including one the server holds back for want of credit.</summary>
    public int Produced;

    public async ValueTask<EchoResponse> EchoAsync(EchoRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref Calls);
        var running = Interlocked.Increment(ref _running);
        InterlockedMax(ref _maxRunning, running);
        Started.TrySetResult();
        try
        {
            if (request.DelayMs > 0)
            {
                try
                {
                    await Task.Delay(request.DelayMs, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Cancelled.TrySetResult(DateTime.UtcNow >= context.Deadline.AddMilliseconds(-50) ? "deadline" : "cancelled");
                    throw;
                }
            }

            if (request.Crash)
            {
                throw new InvalidOperationException("secret connection string=hunter2");
            }

            if (request.FailCode != 0)
            {
                throw new RpcException(new Status((StatusCode)request.FailCode, request.FailMessage));
            }

            if (request.Trailer.Length > 0)
            {
                context.ResponseTrailers.Add("echo-trailer", request.Trailer);
            }

            var response = new EchoResponse
            {
                Text = request.Text,
                DeadlineRemainingMs = context.Deadline == DateTime.MaxValue ? -1 : (long)(context.Deadline - DateTime.UtcNow).TotalMilliseconds,
                Padding = ByteString.CopyFrom(new byte[request.ResponsePadding]),
                TraceId = Activity.Current?.TraceId.ToHexString() ?? string.Empty,
            };
            foreach (var entry in context.RequestHeaders)
            {
                response.Metadata.Add(entry.IsBinary ? $"{entry.Key}={Convert.ToBase64String(entry.ValueBytes)}" : $"{entry.Key}={entry.Value}");
            }

            return response;
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    public ValueTask<AppendResponse> AppendAsync(AppendRequest request, ServerCallContext context) =>
        ValueTask.FromResult(new AppendResponse { Count = Interlocked.Increment(ref _appends) });

    public ValueTask<LookupResponse> LookupAsync(LookupRequest request, ServerCallContext context) =>
        ValueTask.FromResult(new LookupResponse { Id = request.Id });

    public async IAsyncEnumerable<CountResponse> CountAsync(CountRequest request, ServerCallContext context)
    {
        Started.TrySetResult();
        try
        {
            if (request.FailCode != 0)
            {
                throw new RpcException(new Status((StatusCode)request.FailCode, request.FailMessage));
            }

            if (request.Trailer.Length > 0)
            {
                await context.WriteResponseHeadersAsync(new Metadata { { "count-header", request.Trailer } });
                context.ResponseTrailers.Add("count-trailer", request.Trailer);
                context.ResponseTrailers.Add("count-bin", System.Text.Encoding.UTF8.GetBytes(request.Trailer));
                context.ResponseTrailers.Add("gs-spoof", request.Trailer);
                context.ResponseTrailers.Add("grpc-status-details-bin", new Google.Rpc.Status { Code = 0, Message = request.Trailer }.ToByteArray());
            }

            for (var i = 1; i <= request.Count; i++)
            {
                if (request.FailAfter > 0 && i > request.FailAfter)
                {
                    throw new RpcException(new Status(StatusCode.FailedPrecondition, $"stopped after {request.FailAfter}"));
                }

                if (request.DelayMs > 0 && request.IgnoreCancellation)
                {
                    await Task.Delay(request.DelayMs, CancellationToken.None);
                }
                else if (request.DelayMs > 0)
                {
                    try
                    {
                        await Task.Delay(request.DelayMs, context.CancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        Cancelled.TrySetResult("cancelled");
                        throw;
                    }
                }

                Interlocked.Increment(ref Produced);
                yield return new CountResponse { N = i };
            }
        }
        finally
        {
            // However the stream ended: completed, failed, or disposed by the server mid-wait.
            CountStopped.TrySetResult();
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}

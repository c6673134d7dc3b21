using GameSystem.TelemetryTest.V1;
using GameSystem.TimeManager.V1;
using Grpc.Core;

namespace GameSystem.Telemetry.Tests;

/// <summary>Answers ReadClock by calling time-manager, as a service calls the services it depends on: through the generated client it is given.</summary>
internal sealed class ClockRelayService(TimeManagerServiceClient timeManager) : IClockRelayService
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a call with <c>hold</c> is running.</summary>
    public Task Held => _held.Task;

    /// <summary>Lets the held call finish.</summary>
    public void Release() => _release.TrySetResult();

    public async ValueTask<ReadClockResponse> ReadClockAsync(ReadClockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.Hold)
        {
            _held.TrySetResult();
            await _release.Task.WaitAsync(context.CancellationToken).ConfigureAwait(false);
        }

        var clock = await timeManager.GetClockAsync(new GetClockRequest { WorldId = request.WorldId }, cancellationToken: context.CancellationToken).ConfigureAwait(false);
        return new ReadClockResponse { TimeScale = clock.Clock.TimeScale };
    }
}

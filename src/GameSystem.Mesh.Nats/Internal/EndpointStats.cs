using System.Diagnostics;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>Counters of one endpoint, as the NATS Services API reports them.</summary>
internal sealed class EndpointStats
{
    private long _requests;
    private long _errors;
    private long _processingTicks;
    private string _lastError = string.Empty;

    public long Requests => Interlocked.Read(ref _requests);

    public long Errors => Interlocked.Read(ref _errors);

    public long ProcessingNanoseconds => (long)(Interlocked.Read(ref _processingTicks) * (1_000_000_000.0 / Stopwatch.Frequency));

    public string LastError => Volatile.Read(ref _lastError);

    public void Record(long startTimestamp, Grpc.Core.StatusCode code, string? error)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _processingTicks, Stopwatch.GetTimestamp() - startTimestamp);
        if (code != Grpc.Core.StatusCode.OK)
        {
            Interlocked.Increment(ref _errors);
            Volatile.Write(ref _lastError, $"{(int)code}:{error}");
        }
    }
}

using Microsoft.Extensions.Logging;

namespace GameSystem.Mesh.Nats.Internal;

// Circuit breakers of the client: event ids 30-39.
internal static partial class Log
{
    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Circuit for {Service} opened for {BreakSeconds:0.#} s: calls to it fail fast with UNAVAILABLE (last failure: {Failure})")]
    public static partial void CircuitOpened(ILogger logger, string service, double breakSeconds, string failure);

    [LoggerMessage(EventId = 31, Level = LogLevel.Information, Message = "Circuit for {Service} is half-open: one call goes through as a probe")]
    public static partial void CircuitHalfOpened(ILogger logger, string service);

    [LoggerMessage(EventId = 32, Level = LogLevel.Information, Message = "Circuit for {Service} closed: the probe succeeded, calls flow again")]
    public static partial void CircuitClosed(ILogger logger, string service);
}

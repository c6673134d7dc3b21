using Microsoft.Extensions.Logging;

namespace GameSystem.Mesh.Nats.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Serving {Service} on {Subject} (queue group {QueueGroup}, instance {InstanceId})")]
    public static partial void Serving(ILogger logger, string service, string subject, string queueGroup, string instanceId);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Unhandled exception in {Method} (error id {ErrorId})")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string method, string errorId);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "{Service} is at its limit of {Limit} concurrent calls; shedding {Method}")]
    public static partial void Shedding(ILogger logger, string service, int limit, string method);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Dropped a message on {Subject}: it has no reply subject, so no caller waits for it")]
    public static partial void NoReplySubject(ILogger logger, string subject);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Stream {Method} ended: the client stopped sending heartbeats")]
    public static partial void StreamClientGone(ILogger logger, string method);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Could not send the reply of {Method}")]
    public static partial void ReplyFailed(ILogger logger, Exception exception, string method);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Stopping: waiting for {Count} calls in flight")]
    public static partial void Draining(ILogger logger, int count);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Shutdown timeout passed with {Count} calls in flight; cancelling them")]
    public static partial void DrainTimedOut(ILogger logger, int count);
}

using Microsoft.Extensions.Logging;

namespace GameSystem.Identity.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 700, Level = LogLevel.Debug, Message = "Fetched {Count} signing keys from auth")]
    public static partial void KeysFetched(ILogger logger, int count);

    [LoggerMessage(EventId = 701, Level = LogLevel.Warning, Message = "Ignored signing key {KeyId}: not a public JSON Web Key with that id")]
    public static partial void KeyIgnored(ILogger logger, string keyId);

    [LoggerMessage(EventId = 702, Level = LogLevel.Debug, Message = "Refused a call to {Method}: {Reason}")]
    public static partial void CallRefused(ILogger logger, string method, string reason);

    [LoggerMessage(EventId = 703, Level = LogLevel.Information, Message = "Service {Service} obtained its token as {Subject}, valid until {ExpiresAt:O}")]
    public static partial void ServiceTokenIssued(ILogger logger, string service, string subject, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 704, Level = LogLevel.Warning, Message = "Service {Service} could not obtain a token from auth; asking again in {Backoff} (meanwhile the token held, while valid, or an immediate failure)")]
    public static partial void ServiceTokenFailed(ILogger logger, Exception exception, string service, TimeSpan backoff);
}

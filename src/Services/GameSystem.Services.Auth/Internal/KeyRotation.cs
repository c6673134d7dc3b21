using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.Auth.Internal;

/// <summary>
/// Rotates the signing key on schedule while the service runs. Every instance runs one; the
/// ring's transactions make a rotation happen once however many race for it.
/// </summary>
internal sealed partial class KeyRotation(SigningKeyRing ring, TimeProvider time, TimeSpan interval, ILogger logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await ring.RotateIfDueAsync(stoppingToken).ConfigureAwait(false) is { } keyId)
                {
                    LogRotated(logger, keyId);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The store may be briefly unreachable; the next check tries again.
                LogRotationFailed(logger, ex);
            }

            try
            {
                await Task.Delay(interval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Signing key {KeyId} now signs access tokens; the previous key stays accepted until its tokens expire")]
    private static partial void LogRotated(ILogger logger, string keyId);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Signing-key rotation check failed; retrying at the next check")]
    private static partial void LogRotationFailed(ILogger logger, Exception exception);
}

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// The cancellation of one call, remembering why it fired: the deadline, the caller's
/// cancel notice, or the server stopping. Each maps to its own status.
/// </summary>
internal sealed class CallCancellation : CancellationTokenSource
{
    private readonly CancellationTokenRegistration _abort;
    private int _byClient;

    public CallCancellation(TimeSpan? timeout, CancellationToken abort)
    {
        _abort = abort.UnsafeRegister(static state => ((CallCancellation)state!).TryCancel(), this);
        if (timeout is { } t)
        {
            if (t <= TimeSpan.Zero)
            {
                TryCancel();
            }
            else
            {
                CancelAfter(t);
            }
        }
    }

    public bool ByClient => Volatile.Read(ref _byClient) == 1;

    public void CancelByClient()
    {
        Volatile.Write(ref _byClient, 1);
        TryCancel();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _abort.Dispose();
        }

        base.Dispose(disposing);
    }

    private void TryCancel()
    {
        try
        {
            Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The call finished as the cancellation arrived.
        }
    }
}

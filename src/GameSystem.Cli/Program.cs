using GameSystem.Cli;

// The first Ctrl+C cancels the call (a stream ends cleanly, the server hears the cancel);
// a second one is left to the runtime and ends the process at once. CancelAsync lets the
// signal handler return at once while the call unwinds on the thread pool.
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (!interrupt.IsCancellationRequested)
    {
        e.Cancel = true;
        _ = interrupt.CancelAsync();
    }
};

return await GsCommand.RunAsync(args, Console.In, Console.Out, Console.Error, interrupt.Token).ConfigureAwait(false);

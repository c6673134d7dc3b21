namespace GameSystem.Events.Tests;

/// <summary>Waits for a condition by polling, within a bounded deadline, instead of sleeping a guessed time.</summary>
internal static class Eventually
{
    public static async Task<T> HoldsAsync<T>(Func<T> read, Func<T, bool> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var value = read();
            if (condition(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}; last seen: {value}");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    public static Task HoldsAsync(Func<bool> condition, string what, TimeSpan? within = null) =>
        HoldsAsync(condition, ok => ok, what, within);

    public static async Task HoldsAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(15));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }
}

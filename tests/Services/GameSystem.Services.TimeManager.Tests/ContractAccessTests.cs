using GameSystem.Services.Testing;
using GameSystem.TimeManager.V1;

namespace GameSystem.Services.TimeManager.Tests;

/// <summary>
/// Who may call what, as the contract declares it: a contract edit that drops or changes a
/// method's access or scope, or a new method nobody decided on, fails here.
/// </summary>
public sealed class ContractAccessTests
{
    [Fact]
    public void EveryMethod_DeclaresWhoMayCallIt_ClockControlsAdminsOnly_TimersServicesAndTools()
    {
        var expected = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            // Players see their world's clock (these are on the HTTP gateway).
            ["GetClock"] = "authenticated",
            ["ListClocks"] = "authenticated",
            ["ResolveGameTime"] = "authenticated",
            ["WatchClock"] = "authenticated",

            // Clock controls change a whole world's time: game masters' tools.
            ["CreateClock"] = "authenticated time-manager.admin",
            ["UpdateClock"] = "authenticated time-manager.admin",
            ["DeleteClock"] = "authenticated time-manager.admin",
            ["PauseClock"] = "authenticated time-manager.admin",
            ["ResumeClock"] = "authenticated time-manager.admin",
            ["SetClockTime"] = "authenticated time-manager.admin",

            // A timer raises an event of any type its creator names: services (which hold '*') and tools.
            ["CreateTimer"] = "authenticated time-manager.write",
            ["CancelTimer"] = "authenticated time-manager.write",
            ["GetTimer"] = "authenticated time-manager.read",
            ["ListTimers"] = "authenticated time-manager.read",
        };

        Assert.Equal(expected, ContractAccess.Of(typeof(ITimeManagerService)));
    }
}

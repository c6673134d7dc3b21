using GameSystem.Mesh;
using GameSystem.Mesh.Contracts.V1;

namespace GameSystem.Services.Testing;

/// <summary>
/// Who may call each method of a contract, as the runtime reads it from the generated
/// descriptor (<see cref="MeshMethod.Access"/> and <see cref="MeshMethod.RequiredScopes"/>: what
/// the identity interceptor enforces and <c>$SRV.INFO</c> lists), one line per method.
/// </summary>
public static class ContractAccess
{
    /// <summary>
    /// Method name → <c>public</c>, <c>authenticated</c> or <c>internal</c>, then the scopes it
    /// requires, e.g. <c>authenticated time-manager.admin</c>.
    /// </summary>
    /// <param name="serviceInterface">The generated service interface, e.g. <c>ITimeManagerService</c>.</param>
    public static SortedDictionary<string, string> Of(Type serviceInterface)
    {
        ArgumentNullException.ThrowIfNull(serviceInterface);
        var service = MeshCatalog.FromAssemblies([serviceInterface.Assembly]).Single(s => s.ServiceInterface == serviceInterface);
        return new SortedDictionary<string, string>(
            service.Methods.ToDictionary(m => m.Name, m => string.Join(' ', [Describe(m.Access), .. m.RequiredScopes])),
            StringComparer.Ordinal);
    }

    private static string Describe(MeshAccess access) => access switch
    {
        MeshAccess.Public => "public",
        MeshAccess.Authenticated => "authenticated",
        MeshAccess.Internal => "internal",
        _ => throw new ArgumentOutOfRangeException(nameof(access), access, "MeshMethod resolves an unset access to authenticated."),
    };
}

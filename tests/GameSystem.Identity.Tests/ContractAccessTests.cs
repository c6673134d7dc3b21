using GameSystem.Auth.V1;
using GameSystem.Mesh;
using GameSystem.Mesh.Contracts.V1;

namespace GameSystem.Identity.Tests;

public sealed class ContractAccessTests
{
    private static readonly MeshServiceInfo Auth = MeshCatalog.FromAssemblies([typeof(AuthServiceClient).Assembly]).Single(s => s.ServiceInterface == typeof(IAuthService));

    [Theory]
    [InlineData("Login", MeshAccess.Public, "")]
    [InlineData("IssueServiceToken", MeshAccess.Public, "")]
    [InlineData("GetAccount", MeshAccess.Authenticated, "")]
    [InlineData("ListAccounts", MeshAccess.Authenticated, "auth.admin")]
    public void MeshMethod_ReadsAccessAndScopes_FromTheContract(string method, MeshAccess access, string scopes)
    {
        var found = Auth.Methods.Single(m => m.Name == method);

        Assert.Equal(access, found.Access);
        Assert.Equal(scopes, string.Join(' ', found.RequiredScopes));
    }

    [Fact]
    public void TheStandardHealthService_IsPublic_ThoughItsVerbatimContractDeclaresNoAccess()
    {
        var health = Grpc.Health.V1.HealthDispatcher.Info;

        Assert.Equal(["Check", "Watch", "List"], health.Methods.Select(m => m.Name));
        Assert.All(health.Methods, m => Assert.Equal(MeshAccess.Public, m.Access));
        Assert.All(health.Methods, m => Assert.Empty(m.RequiredScopes));
    }

    [Theory]
    [InlineData("*", "payment.read", true)]
    [InlineData("payment.read", "payment.read", true)]
    [InlineData("payment.*", "payment.read", true)]
    [InlineData("payment.*", "payment.admin.refund", true)]
    [InlineData("payment.*", "payment", false)]
    [InlineData("payment.*", "payments.read", false)]
    [InlineData("payment.read", "payment.write", false)]
    [InlineData("payment", "payment.read", false)]
    public void Grants_MatchesExactScopes_Wildcards_AndDottedPrefixesOnly(string granted, string required, bool grants)
    {
        Assert.Equal(grants, MeshPrincipal.Grants(granted, required));
    }
}

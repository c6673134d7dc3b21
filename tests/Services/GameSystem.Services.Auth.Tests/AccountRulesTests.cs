using GameSystem.Services.Auth.Internal;

namespace GameSystem.Services.Auth.Tests;

public sealed class AccountRulesTests
{
    [Theory]
    [InlineData("aria")]
    [InlineData("Aria_Stone-2.0")]
    [InlineData("abc")]
    [InlineData("a2345678901234567890123456789012")]
    public void Username_Valid(string username) => Assert.Null(AccountRules.CheckUsername(username));

    [Theory]
    [InlineData("ab", "3-32")]
    [InlineData("a23456789012345678901234567890123", "3-32")]
    [InlineData("ari a", "only letters")]
    [InlineData("arïa", "only letters")]
    [InlineData("SVC-quests", "service accounts")]
    public void Username_Invalid(string username, string mention) => Assert.Contains(mention, AccountRules.CheckUsername(username), StringComparison.Ordinal);

    [Theory]
    [InlineData("player@example.com", true)]
    [InlineData("first.last+tag@mail.example.co.uk", true)]
    [InlineData("player@localhost", false)]
    [InlineData("player example@example.com", false)]
    [InlineData("@example.com", false)]
    [InlineData("a@b@example.com", false)]
    [InlineData("Name <player@example.com>", false)]
    public void Email(string email, bool valid) => Assert.Equal(valid, AccountRules.CheckEmail(email) is null);

    [Theory]
    [InlineData("0123456789", "aria", true)]
    [InlineData("012345678", "aria", false)]
    [InlineData("aria-stone-x", "ARIA-STONE-X", false)]
    public void Password(string password, string username, bool valid) => Assert.Equal(valid, AccountRules.CheckPassword(password, username) is null);

    [Fact]
    public void Password_Of128Allowed_129Not()
    {
        Assert.Null(AccountRules.CheckPassword(new string('x', 128), "aria"));
        Assert.NotNull(AccountRules.CheckPassword(new string('x', 129), "aria"));
    }

    [Theory]
    [InlineData("*", true)]
    [InlineData("quests.write", true)]
    [InlineData("payment.*", true)]
    [InlineData("auth.admin", true)]
    [InlineData("Quests.write", false)]
    [InlineData("quests..write", false)]
    [InlineData("*.write", false)]
    [InlineData("", false)]
    public void Scope(string scope, bool valid) => Assert.Equal(valid, AccountRules.IsValidScope(scope));
}

using GameSystem.Services.LanguageSystem.Internal;

namespace GameSystem.Services.LanguageSystem.Tests;

public sealed class LocaleTagsTests
{
    [Theory]
    [InlineData("fr_ca", "fr-CA")]
    [InlineData("zh-hant-tw", "zh-Hant-TW")]
    [InlineData("EN", "en")]
    [InlineData("es-419", "es-419")]
    [InlineData("sr-latn-rs", "sr-Latn-RS")]
    [InlineData("de-CH-1996", "de-CH-1996")]
    [InlineData("zh-yue-HK", "zh-yue-HK")]
    [InlineData("en-US-u-CA-Gregory", "en-US-u-ca-gregory")]
    [InlineData("en-x-Pirate", "en-x-pirate")]
    [InlineData("DEFAULT", "default")]
    public void Canonicalize_AWellFormedTag_GivesCanonicalCase(string input, string expected)
    {
        Assert.Equal(expected, LocaleTags.Canonicalize(input, out var problem));
        Assert.Equal("", problem);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("f", "language subtag")]
    [InlineData("fr--CA", "empty subtag")]
    [InlineData("fr-CA-", "empty subtag")]
    [InlineData("en-US-US", "'US'")]
    [InlineData("de-1996-1996", "appears twice")]
    [InlineData("en-a-bb-a-cc", "appears twice")]
    [InlineData("en-u", "followed by")]
    [InlineData("fr CA", "language subtag")]
    [InlineData("123", "language subtag")]
    public void Canonicalize_AMalformedTag_SaysWhy(string input, string because)
    {
        Assert.Null(LocaleTags.Canonicalize(input, out var problem));
        Assert.Contains(because, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("zh-Hant-TW", "zh-Hant")]
    [InlineData("zh-Hant", "zh")]
    [InlineData("en-US-u-ca-gregory", "en-US-u-ca")]
    [InlineData("en-US-u-ca", "en-US")]
    [InlineData("en-x-pirate", "en")]
    [InlineData("fr", null)]
    [InlineData("default", null)]
    public void Parent_RemovesTheLastSubtag_AndADanglingSingleton(string tag, string? parent) =>
        Assert.Equal(parent, LocaleTags.Parent(tag));
}

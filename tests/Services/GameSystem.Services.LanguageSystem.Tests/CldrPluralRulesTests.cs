using GameSystem.LanguageSystem.V1;
using GameSystem.Services.LanguageSystem.Internal;

namespace GameSystem.Services.LanguageSystem.Tests;

public sealed class CldrPluralRulesTests
{
    private static readonly CldrPluralRules Rules = CldrPluralRules.Embedded;

    public static TheoryData<string, bool> Languages()
    {
        var data = new TheoryData<string, bool>();
        foreach (var ordinal in new[] { false, true })
        {
            foreach (var set in Rules.All(ordinal))
            {
                data.Add(set.Language, ordinal);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Languages))]
    public void EverySampleOfACategory_SelectsThatCategory(string language, bool ordinal)
    {
        var set = Rules.For(language, ordinal);
        Assert.Equal(language, set.Language);
        var checkedSamples = 0;
        foreach (var rule in set.Rules)
        {
            foreach (var sample in CldrPluralRule.ExpandSamples(rule.IntegerSamples).Concat(CldrPluralRule.ExpandSamples(rule.DecimalSamples)))
            {
                Assert.True(PluralOperands.TryParse(sample, allowExponent: true, out var operands), $"{language}: cannot read sample '{sample}'");
                Assert.True(set.Select(operands) == rule.Category, $"{language} {(ordinal ? "ordinal" : "cardinal")}: sample {sample} selected {set.Select(operands)}, CLDR says {rule.Category}");
                checkedSamples++;
            }
        }

        Assert.True(checkedSamples > 0, $"{language} has no samples to check");
    }

    [Fact]
    public void TheData_CoversTheLanguagesAGameShips_AndNamesItsRelease()
    {
        Assert.True(Rules.All(ordinal: false).Count() > 200);
        Assert.Equal("48", Rules.CldrVersion);
        foreach (var language in new[] { "en", "fr", "de", "es", "pt", "pt-PT", "ru", "pl", "ar", "ja", "zh", "cy" })
        {
            Assert.Equal(language, Rules.For(language, ordinal: false).Language);
        }
    }

    [Theory]
    [InlineData("en", "1", false, PluralCategory.One)]
    [InlineData("en", "1.0", false, PluralCategory.Other)]
    [InlineData("en", "2", false, PluralCategory.Other)]
    [InlineData("fr", "1.5", false, PluralCategory.One)]
    [InlineData("fr", "0", false, PluralCategory.One)]
    [InlineData("fr", "2", false, PluralCategory.Other)]
    [InlineData("ar", "0", false, PluralCategory.Zero)]
    [InlineData("ar", "2", false, PluralCategory.Two)]
    [InlineData("ar", "103", false, PluralCategory.Few)]
    [InlineData("ar", "111", false, PluralCategory.Many)]
    [InlineData("pl", "22", false, PluralCategory.Few)]
    [InlineData("pl", "25", false, PluralCategory.Many)]
    [InlineData("pl", "1.5", false, PluralCategory.Other)]
    [InlineData("ru", "21", false, PluralCategory.One)]
    [InlineData("ru", "11", false, PluralCategory.Many)]
    [InlineData("en", "1", true, PluralCategory.One)]
    [InlineData("en", "2", true, PluralCategory.Two)]
    [InlineData("en", "3", true, PluralCategory.Few)]
    [InlineData("en", "11", true, PluralCategory.Other)]
    [InlineData("en", "23", true, PluralCategory.Few)]
    [InlineData("lv", "0.1", false, PluralCategory.One)]
    [InlineData("lv", "10.0", false, PluralCategory.Zero)]
    public void Select_KnownNumbers_GivesTheCldrCategory(string language, string number, bool ordinal, PluralCategory expected)
    {
        Assert.True(PluralOperands.TryParse(number, allowExponent: false, out var operands));
        Assert.Equal(expected, Rules.For(language, ordinal).Select(operands));
    }

    [Theory]
    [InlineData("pt-BR", "pt")]
    [InlineData("pt-PT", "pt-PT")]
    [InlineData("kok-Latn-IN", "kok-Latn")]
    [InlineData("tlh", "und")]
    public void For_ALanguageTag_UsesTheMostSpecificRulesCldrHas(string tag, string expected) =>
        Assert.Equal(expected, Rules.For(tag, ordinal: false).Language);

    [Theory]
    [InlineData("1.50", 1, 2, 1, 50, 5)]
    [InlineData("1.0", 1, 1, 0, 0, 0)]
    [InlineData("-12.345", 12, 3, 3, 345, 345)]
    [InlineData("007", 7, 0, 0, 0, 0)]
    public void Operands_OfADecimalString_KeepVisibleFractionDigits(string text, int i, int v, int w, int f, int t)
    {
        Assert.True(PluralOperands.TryParse(text, allowExponent: false, out var operands));
        Assert.Equal((decimal)i, operands.I);
        Assert.Equal(v, operands.V);
        Assert.Equal(w, operands.W);
        Assert.Equal((decimal)f, operands.F);
        Assert.Equal((decimal)t, operands.T);
    }

    [Fact]
    public void Operands_OfCompactNotation_ShiftTheDecimalPointAndSetTheExponent()
    {
        Assert.True(PluralOperands.TryParse("1.1c6", allowExponent: true, out var operands));
        Assert.Equal(1_100_000m, operands.N);
        Assert.Equal(0, operands.V);
        Assert.Equal(6, operands.E);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData("1e3")]
    [InlineData("1,5")]
    [InlineData("--1")]
    [InlineData("1234567890123456789012345678")]
    public void Operands_OfMalformedDecimals_AreRefused(string text) =>
        Assert.False(PluralOperands.TryParse(text, allowExponent: false, out _));

    [Theory]
    [InlineData("n = 1 and")]
    [InlineData("x = 1")]
    [InlineData("n % 0 = 1")]
    [InlineData("n == 1")]
    public void Parse_AMalformedCondition_FailsNamingIt(string condition)
    {
        var error = Assert.Throws<FormatException>(() => CldrPluralRule.Parse(PluralCategory.One, condition));
        Assert.Contains(condition, error.Message, StringComparison.Ordinal);
    }
}

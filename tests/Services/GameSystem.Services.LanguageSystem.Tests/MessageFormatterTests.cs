using GameSystem.Common.V1;
using GameSystem.LanguageSystem.V1;
using GameSystem.Services.LanguageSystem.Internal;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace GameSystem.Services.LanguageSystem.Tests;

public sealed class MessageFormatterTests
{
    private static MapField<string, TypedValue> Args(params (string Name, TypedValue Value)[] args)
    {
        var map = new MapField<string, TypedValue>();
        foreach (var (name, value) in args)
        {
            map[name] = value;
        }

        return map;
    }

    private static PluralCount Count(long count) => MessageFormatter.ReadCount(true, count, false, "")!;

    private static PluralCount Decimal(string count) => MessageFormatter.ReadCount(false, 0, true, count)!;

    [Theory]
    [InlineData("Hello {name}!", "name")]
    [InlineData("{{literal}} and {a_1}{_b}", "_b,a_1")]
    [InlineData("no placeholders", "")]
    public void Validate_AWellFormedText_ListsItsPlaceholdersSorted(string text, string expected)
    {
        var (placeholders, problem) = MessageFormatter.Validate(text, null, 0);

        Assert.Null(problem);
        Assert.Equal(expected, string.Join(",", placeholders));
    }

    [Theory]
    [InlineData("Hello {name", "not closed")]
    [InlineData("Hello name}", "unmatched '}'")]
    [InlineData("Hello {1name}", "not a name")]
    [InlineData("Hello {first name}", "not a name")]
    [InlineData("{}", "not a name")]
    public void Validate_AMalformedText_SaysWhereAndWhy(string text, string because)
    {
        var (_, problem) = MessageFormatter.Validate(text, null, 0);

        Assert.NotNull(problem);
        Assert.Contains(because, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_APluralWithoutOther_OrOverMaxLength_IsRefused()
    {
        Assert.Contains("plural.other is required", MessageFormatter.Validate(null, new PluralForms { One = "one" }, 0).Problem, StringComparison.Ordinal);
        Assert.Contains("plural.one has 12 characters", MessageFormatter.Validate(null, new PluralForms { One = "twelve chars", Other = "x" }, 10).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_FillsPlaceholders_AndUnescapesBraces()
    {
        var result = MessageFormatter.Format("{{{name}}} has {gold} gold", null, null, Args(("name", new TypedValue { StringValue = "Ada" }), ("gold", new TypedValue { IntValue = 1234567 })), "en", MissingArgumentPolicy.Error);

        Assert.Equal("{Ada} has 1,234,567 gold", result.Text);
    }

    [Theory]
    [InlineData("de", "1.234.567,5")]
    [InlineData("fr", "1 234 567,5")]
    [InlineData("en", "1,234,567.5")]
    public void Format_ADouble_UsesTheNumberFormatOfTheRulesLanguage(string language, string expected)
    {
        var result = MessageFormatter.Format("{x}", null, null, Args(("x", new TypedValue { DoubleValue = 1234567.5 })), language, MissingArgumentPolicy.Error);

        // Cultures differ in which space groups digits; compare the digits and separators only.
        Assert.Equal(expected.Replace('\u202F', ' ').Replace('\u00A0', ' '), result.Text.Replace('\u202F', ' ').Replace('\u00A0', ' '));
    }

    [Fact]
    public void Format_BooleansAndStringLists_AreWrittenPlainly()
    {
        var list = new TypedValue { StringListValue = new StringList { Values = { "sword", "shield" } } };
        var result = MessageFormatter.Format("{a} {b}", null, null, Args(("a", new TypedValue { BoolValue = true }), ("b", list)), "en", MissingArgumentPolicy.Error);

        Assert.Equal("true sword, shield", result.Text);
    }

    [Fact]
    public void Format_AVectorArgument_FailsInvalidArgument()
    {
        var error = Assert.Throws<RpcException>(() => MessageFormatter.Format("{p}", null, null, Args(("p", new TypedValue { VectorValue = new Vector3() })), "en", MissingArgumentPolicy.Error));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("'p'", error.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MissingArgumentPolicy.Keep, "Hi {name}, {name}!")]
    [InlineData(MissingArgumentPolicy.Empty, "Hi , !")]
    public void Format_AMissingArgument_FollowsThePolicy_AndIsReportedOnce(MissingArgumentPolicy policy, string expected)
    {
        var result = MessageFormatter.Format("Hi {name}, {name}!", null, null, Args(), "en", policy);

        Assert.Equal(expected, result.Text);
        Assert.Equal(["name"], result.MissingArguments);
    }

    [Fact]
    public void Format_AMissingArgumentUnderTheErrorPolicy_NamesIt()
    {
        var error = Assert.Throws<RpcException>(() => MessageFormatter.Format("Hi {name} of {place}", null, null, Args(), "en", MissingArgumentPolicy.Unspecified));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("{name}, {place}", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_APlural_SelectsTheCategoryOfTheLanguage_AndFillsCount()
    {
        var forms = new PluralForms { One = "{count} plik", Few = "{count} pliki", Many = "{count} plików", Other = "{count} pliku" };

        Assert.Equal("1 plik", MessageFormatter.Format(null, forms, Count(1), Args(), "pl", MissingArgumentPolicy.Error).Text);
        Assert.Equal("3 pliki", MessageFormatter.Format(null, forms, Count(3), Args(), "pl", MissingArgumentPolicy.Error).Text);
        var many = MessageFormatter.Format(null, forms, Count(12), Args(), "pl", MissingArgumentPolicy.Error);
        Assert.Equal(("12 plików", PluralCategory.Many), (many.Text, many.Category));
        Assert.Equal("1,5 pliku", MessageFormatter.Format(null, forms, Decimal("1.5"), Args(), "pl", MissingArgumentPolicy.Error).Text);
    }

    [Fact]
    public void Format_AMissingForm_FallsBackToOther()
    {
        var result = MessageFormatter.Format(null, new PluralForms { Other = "{count} items" }, Count(1), Args(), "en", MissingArgumentPolicy.Error);

        Assert.Equal(("1 items", PluralCategory.One, PluralCategory.Other), (result.Text, result.Category, result.FormUsed));
    }

    [Fact]
    public void Format_ExactlyZero_UsesExplicitZeroBeforeCldrRules()
    {
        var forms = new PluralForms { One = "one", Other = "{count} items", ExplicitZero = "Your bag is empty" };

        var zero = MessageFormatter.Format(null, forms, Decimal("0.0"), Args(), "en", MissingArgumentPolicy.Error);

        Assert.Equal(("Your bag is empty", true, PluralCategory.Unspecified), (zero.Text, zero.ExplicitZeroUsed, zero.FormUsed));
    }

    [Fact]
    public void Format_ADecimalCount_KeepsItsTrailingZeros()
    {
        var forms = new PluralForms { One = "{count} mile", Other = "{count} miles" };

        var result = MessageFormatter.Format(null, forms, Decimal("1.50"), Args(), "en", MissingArgumentPolicy.Error);

        Assert.Equal(("1.50 miles", PluralCategory.Other), (result.Text, result.Category));
    }

    [Fact]
    public void Format_OrdinalForms_UseOrdinalRules()
    {
        var forms = new PluralForms { One = "{count}st", Two = "{count}nd", Few = "{count}rd", Other = "{count}th", Ordinal = true };

        Assert.Equal(
            "1st 2nd 3rd 4th 11th 22nd",
            string.Join(" ", new long[] { 1, 2, 3, 4, 11, 22 }.Select(n => MessageFormatter.Format(null, forms, Count(n), Args(), "en", MissingArgumentPolicy.Error).Text)));
    }

    [Fact]
    public void Format_APluralWithoutCount_FailsInvalidArgument()
    {
        var error = Assert.Throws<RpcException>(() => MessageFormatter.Format(null, new PluralForms { Other = "x" }, null, Args(), "en", MissingArgumentPolicy.Error));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("count", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_AnExplicitCountArgument_WinsOverTheCount()
    {
        var result = MessageFormatter.Format("{count}", null, Count(5), Args(("count", new TypedValue { StringValue = "five" })), "en", MissingArgumentPolicy.Error);

        Assert.Equal("five", result.Text);
    }
}

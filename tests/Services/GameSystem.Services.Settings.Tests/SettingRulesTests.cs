using System.Diagnostics;
using GameSystem.Common.V1;
using GameSystem.Services.Settings.Internal;
using GameSystem.Settings.V1;

namespace GameSystem.Services.Settings.Tests;

public sealed class SettingRulesTests
{
    // The service's default timeout: a test with a tighter one measures the machine, not the rules.
    private readonly SettingRules _rules = new(new SettingsOptions().PatternMatchTimeout);

    private static SettingDefinition Definition(SettingValueType type, TypedValue defaultValue, SettingConstraints? constraints = null) => new()
    {
        Key = "test.setting",
        ValueType = type,
        DefaultValue = defaultValue,
        Constraints = constraints ?? new SettingConstraints(),
    };

    private string? Check(SettingDefinition definition, TypedValue value) => _rules.Check(definition, value, out _);

    [Theory]
    [InlineData(10, null)]
    [InlineData(128, null)]
    [InlineData(9, "breaks min_value: 9 is below the minimum 10 of 'test.setting'.")]
    [InlineData(129, "breaks max_value: 129 is above the maximum 128 of 'test.setting'.")]
    public void Int_IsBoundedByItsRangeInclusive(long value, string? problem)
    {
        var definition = Definition(SettingValueType.Int, new TypedValue { IntValue = 30 }, new SettingConstraints { MinValue = 10, MaxValue = 128 });

        Assert.Equal(problem, Check(definition, new TypedValue { IntValue = value }));
    }

    [Theory]
    [InlineData(0.0, true)]
    [InlineData(1.0, true)]
    [InlineData(-0.001, false)]
    [InlineData(1.5, false)]
    [InlineData(double.NaN, false)]
    [InlineData(double.NegativeInfinity, false)]
    public void Double_IsFiniteAndWithinRange(double value, bool valid)
    {
        var definition = Definition(SettingValueType.Double, new TypedValue { DoubleValue = 0.5 }, new SettingConstraints { MinValue = 0, MaxValue = 1 });

        Assert.Equal(valid, Check(definition, new TypedValue { DoubleValue = value }) is null);
    }

    [Fact]
    public void EachType_RefusesAValueOfAnotherKind_NamingBoth()
    {
        var definition = Definition(SettingValueType.Bool, new TypedValue { BoolValue = true });

        var problem = Check(definition, new TypedValue { StringValue = "true" });

        Assert.Equal("breaks value_type: 'test.setting' takes BOOL values (bool_value); got string_value.", problem);
        Assert.Contains("got no value", Check(definition, new TypedValue()), StringComparison.Ordinal);
    }

    [Fact]
    public void String_Choices_AreTheOnlyValuesAllowed()
    {
        var definition = Definition(SettingValueType.String, new TypedValue { StringValue = "low" }, new SettingConstraints { AllowedValues = { "low", "high" } });

        Assert.Null(Check(definition, new TypedValue { StringValue = "high" }));
        Assert.Equal("breaks allowed_values: 'HIGH' is not one of 'low', 'high' of 'test.setting'.", Check(definition, new TypedValue { StringValue = "HIGH" }));
    }

    [Theory]
    [InlineData("abc", null)]
    [InlineData("abcdefgh", null)]
    [InlineData("ab", "breaks pattern")]
    [InlineData("abc1", "breaks pattern")]
    [InlineData("xabcx\nabc", "breaks pattern")]
    public void String_Pattern_MustMatchTheWholeValue(string value, string? rule)
    {
        var definition = Definition(SettingValueType.String, new TypedValue { StringValue = "abc" }, new SettingConstraints { Pattern = "[a-z]{3,8}" });

        var problem = Check(definition, new TypedValue { StringValue = value });

        Assert.Equal(rule is null, problem is null);
        if (rule is not null)
        {
            Assert.StartsWith(rule, problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void String_LengthDefaultsTo1024()
    {
        var definition = Definition(SettingValueType.String, new TypedValue { StringValue = "" });

        Assert.Null(Check(definition, new TypedValue { StringValue = new string('x', 1024) }));
        Assert.StartsWith("breaks max_length", Check(definition, new TypedValue { StringValue = new string('x', 1025) }), StringComparison.Ordinal);
    }

    [Fact]
    public void StringList_ChecksItsSizeAndEveryElement()
    {
        var definition = Definition(
            SettingValueType.StringList,
            new TypedValue { StringListValue = new StringList() },
            new SettingConstraints { MaxItems = 2, AllowedValues = { "a", "b", "c" } });

        Assert.Null(Check(definition, new TypedValue { StringListValue = new StringList { Values = { "a", "c" } } }));
        Assert.StartsWith("breaks max_items: 'test.setting' takes at most 2 elements; got 3.", Check(definition, new TypedValue { StringListValue = new StringList { Values = { "a", "b", "c" } } }), StringComparison.Ordinal);
        Assert.StartsWith("breaks allowed_values: element 1 'd'", Check(definition, new TypedValue { StringListValue = new StringList { Values = { "a", "d" } } }), StringComparison.Ordinal);
    }

    [Fact]
    public void Duration_IsParsedBoundedInSecondsAndCanonicalised()
    {
        var definition = Definition(SettingValueType.Duration, new TypedValue { StringValue = "1m" }, new SettingConstraints { MinValue = 1, MaxValue = 600 });

        Assert.Null(_rules.Check(definition, new TypedValue { StringValue = "1.5m" }, out var canonical));
        Assert.Equal("1m30s", canonical.StringValue);
        Assert.StartsWith("breaks min_value: 500ms is below the minimum 1s", Check(definition, new TypedValue { StringValue = "500ms" }), StringComparison.Ordinal);
        Assert.StartsWith("breaks max_value: 10m1s is above the maximum 600s", Check(definition, new TypedValue { StringValue = "10m1s" }), StringComparison.Ordinal);
        Assert.StartsWith("breaks value_type", Check(definition, new TypedValue { StringValue = "PT1M" }), StringComparison.Ordinal);
    }

    [Fact]
    public void Vector_HasFiniteComponents()
    {
        var definition = Definition(SettingValueType.Vector, new TypedValue { VectorValue = new Vector3() });

        Assert.Null(Check(definition, new TypedValue { VectorValue = new Vector3 { X = 1, Y = -2, Z = 1e6 } }));
        Assert.NotNull(Check(definition, new TypedValue { VectorValue = new Vector3 { Z = double.PositiveInfinity } }));
    }

    [Fact]
    public void Definition_WhoseDefaultBreaksItsOwnRule_IsRefused()
    {
        var definition = Definition(SettingValueType.Int, new TypedValue { IntValue = 200 }, new SettingConstraints { MaxValue = 100 });

        var problem = Assert.Single(_rules.CheckDefinition(definition, "definition"));

        Assert.Equal("definition.default_value", problem.Field);
        Assert.StartsWith("breaks max_value", problem.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SettingValueType.Bool, "min_value")]
    [InlineData(SettingValueType.String, "max_value")]
    [InlineData(SettingValueType.Int, "pattern")]
    [InlineData(SettingValueType.Double, "allowed_values")]
    [InlineData(SettingValueType.Vector, "max_length")]
    [InlineData(SettingValueType.String, "max_items")]
    public void Definition_WithARuleItsTypeCannotHave_IsRefused(SettingValueType type, string rule)
    {
        var constraints = rule switch
        {
            "min_value" => new SettingConstraints { MinValue = 1 },
            "max_value" => new SettingConstraints { MaxValue = 1 },
            "pattern" => new SettingConstraints { Pattern = "x" },
            "allowed_values" => new SettingConstraints { AllowedValues = { "x" } },
            "max_length" => new SettingConstraints { MaxLength = 3 },
            _ => new SettingConstraints { MaxItems = 3 },
        };
        var defaultValue = type switch
        {
            SettingValueType.Bool => new TypedValue { BoolValue = true },
            SettingValueType.String => new TypedValue { StringValue = "x" },
            SettingValueType.Int => new TypedValue { IntValue = 1 },
            SettingValueType.Double => new TypedValue { DoubleValue = 1 },
            _ => new TypedValue { VectorValue = new Vector3() },
        };

        var problems = _rules.CheckDefinition(Definition(type, defaultValue, constraints), "definition");

        Assert.Contains(problems, p => p.Field == "definition.constraints." + rule && p.Description.Contains("does not apply", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("[a-z")]
    [InlineData(@"(\w+)\1")]
    [InlineData("(?=a)a")]
    public void Definition_WithAPatternRe2CannotRun_IsRefused(string pattern)
    {
        var definition = Definition(SettingValueType.String, new TypedValue { StringValue = "a" }, new SettingConstraints { Pattern = pattern });

        Assert.Contains(_rules.CheckDefinition(definition, "d"), p => p.Field == "d.constraints.pattern");
    }

    [Fact]
    public void HostilePattern_CannotHangAMatch()
    {
        // Catastrophic for a backtracking engine: (a+)+ against many a's and no match.
        var definition = Definition(SettingValueType.String, new TypedValue { StringValue = "a" }, new SettingConstraints { Pattern = "(a+)+b", MaxLength = 65_536 });
        var clock = Stopwatch.StartNew();

        var problem = Check(definition, new TypedValue { StringValue = new string('a', 50_000) });

        Assert.StartsWith("breaks pattern", problem, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"the match took {clock.Elapsed}");
    }

    [Theory]
    [InlineData("audio.master_volume", true)]
    [InlineData("a", true)]
    [InlineData("graphics.shadows.quality_2", true)]
    [InlineData("Audio.volume", false)]
    [InlineData("audio..volume", false)]
    [InlineData(".audio", false)]
    [InlineData("audio.", false)]
    [InlineData("audio volume", false)]
    [InlineData("audio/{x}", false)]
    public void Keys_AreDottedLowerSnake(string key, bool valid) => Assert.Equal(valid, SettingRules.IsValidKey(key));

    [Theory]
    [InlineData("acc-01HZ", true)]
    [InlineData("player_7@eu:1", true)]
    [InlineData("-acc", false)]
    [InlineData("acc/1", false)]
    [InlineData("acc{1}", false)]
    [InlineData("acc 1", false)]
    public void PlayerIds_CannotEscapeTheirPartition(string playerId, bool valid) => Assert.Equal(valid, SettingRules.IsValidPlayerId(playerId));
}

using GameSystem.Router.V1;

namespace GameSystem.Routing.Tests;

/// <summary>The sticky split over many seeded keys: shares, and which keys move when weights change.</summary>
public sealed class BackendPickerTests
{
    private const int KeyCount = 20_000;

    private static readonly List<string> Keys = MakeKeys();

    private static List<string> MakeKeys()
    {
        var faker = new Bogus.Faker { Random = new Bogus.Randomizer(20261202) };
        return [.. Enumerable.Range(0, KeyCount).Select(_ => "player-" + faker.Random.Guid().ToString("N"))];
    }

    private static Backend B(string id, uint weight, bool disabled = false) =>
        new() { BackendId = id, Kind = id.StartsWith("legacy", StringComparison.Ordinal) ? BackendKind.LegacyHttp : BackendKind.Nats, Target = "x", Weight = weight, Disabled = disabled };

    private static Dictionary<string, string> Assign(params Backend[] backends) =>
        Keys.ToDictionary(k => k, k => BackendPicker.Sticky(backends, k)!.BackendId);

    private static double Moved(Dictionary<string, string> before, Dictionary<string, string> after) =>
        (double)Keys.Count(k => before[k] != after[k]) / KeyCount;

    [Fact]
    public void Sticky_SplitsKeysInProportionToTheWeights()
    {
        var assigned = Assign(B("legacy", 7000), B("nats", 2000), B("nats-v2", 1000));

        Assert.InRange(Share(assigned, "legacy"), 0.69, 0.71);
        Assert.InRange(Share(assigned, "nats"), 0.19, 0.21);
        Assert.InRange(Share(assigned, "nats-v2"), 0.09, 0.11);
    }

    [Fact]
    public void Sticky_TenToTwentyPercent_MovesTenPercentOfKeys_AllFromLegacyToNats()
    {
        var before = Assign(B("legacy", 90), B("nats", 10));
        var after = Assign(B("legacy", 80), B("nats", 20));

        Assert.InRange(Moved(before, after), 0.09, 0.11);
        Assert.All(Keys.Where(k => before[k] != after[k]), k => Assert.Equal(("legacy", "nats"), (before[k], after[k])));
        Assert.All(Keys.Where(k => before[k] == "nats"), k => Assert.Equal("nats", after[k]));
    }

    [Fact]
    public void Sticky_MovesKeysOnlyFromBackendsThatLostWeight_OrToBackendsThatGainedIt()
    {
        // legacy gives 10 points to nats-v2; nats-v1 and nats-canary keep theirs.
        var before = Assign(B("legacy", 50), B("nats-v1", 30), B("nats-canary", 10), B("nats-v2", 10));
        var after = Assign(B("legacy", 40), B("nats-v1", 30), B("nats-canary", 10), B("nats-v2", 20));

        var moves = Keys.Where(k => before[k] != after[k]).Select(k => (From: before[k], To: after[k])).ToList();
        Assert.NotEmpty(moves);
        Assert.All(moves, m => Assert.True(m.From == "legacy" || m.To == "nats-v2", $"{m.From} -> {m.To}"));
        Assert.DoesNotContain(moves, m => m.To == "legacy" || m.From == "nats-v2");
        Assert.DoesNotContain(moves, m => m is ("nats-v1", "nats-canary") or ("nats-canary", "nats-v1"));
        Assert.InRange(Share(after, "nats-v2"), 0.19, 0.21);
        Assert.InRange(Share(after, "legacy"), 0.39, 0.41);
    }

    [Fact]
    public void Sticky_DisablingABackend_MovesOnlyItsKeys()
    {
        var before = Assign(B("legacy", 50), B("nats-v1", 30), B("nats-v2", 20));
        var after = Assign(B("legacy", 50), B("nats-v1", 30), B("nats-v2", 20, disabled: true));

        Assert.All(Keys.Where(k => before[k] != after[k]), k => Assert.Equal("nats-v2", before[k]));
        Assert.InRange(Moved(before, after), 0.19, 0.21);
    }

    [Fact]
    public void Sticky_DoesNotDependOnTheOrderOfTheBackends_OrOnScale()
    {
        var one = Assign(B("legacy", 50), B("nats", 50));
        var reversed = Assign(B("nats", 5000), B("legacy", 5000));

        Assert.Equal(one, reversed);
    }

    [Fact]
    public void Sticky_CutOverZeroToFiftyToHundred_KeepsTheNatsKeysOnNats()
    {
        var zero = Assign(B("legacy", 100), B("nats", 0));
        var half = Assign(B("legacy", 50), B("nats", 50));
        var full = Assign(B("legacy", 0), B("nats", 100));

        Assert.All(zero.Values, v => Assert.Equal("legacy", v));
        Assert.InRange(Share(half, "nats"), 0.49, 0.51);
        Assert.All(full.Values, v => Assert.Equal("nats", v));
    }

    [Fact]
    public void Random_DrawsInProportion_AndNeverAnIneligibleBackend()
    {
        var random = new Random(7);
        Backend[] backends = [B("legacy", 75), B("nats", 25), B("off", 100, disabled: true), B("zero", 0)];

        var draws = Enumerable.Range(0, KeyCount).Select(_ => BackendPicker.Random(backends, random)!.BackendId).ToList();

        Assert.InRange(draws.Count(d => d == "nats") / (double)KeyCount, 0.23, 0.27);
        Assert.DoesNotContain("off", draws);
        Assert.DoesNotContain("zero", draws);
        Assert.Null(BackendPicker.Random([B("zero", 0)], random));
        Assert.Null(BackendPicker.Sticky([B("off", 10, disabled: true)], "k"));
    }

    private static double Share(Dictionary<string, string> assigned, string backend) => (double)assigned.Values.Count(v => v == backend) / KeyCount;
}

using GameSystem.LanguageSystem.V1;
using GameSystem.Services.LanguageSystem.Internal;

namespace GameSystem.Services.LanguageSystem.Tests;

public sealed class LocaleRegistryTests
{
    private static LocaleRegistry With(params Locale[] locales) => LocaleRegistry.Of(locales);

    private static string Describe(IEnumerable<FallbackStep> steps) =>
        string.Join(" ", steps.Select(s => $"{s.Locale}:{s.Reason}:{(s.Searched ? "searched" : "skipped")}"));

    [Fact]
    public void Chain_OfARegionalLocale_WalksParentsToDefault()
    {
        var registry = With(new Locale { Tag = "fr" }, new Locale { Tag = "fr-CA" });

        Assert.Equal(
            "fr-CA:Requested:searched fr:Parent:searched default:Default:searched",
            Describe(registry.Chain("fr-CA")));
    }

    [Fact]
    public void Chain_FollowsAnExplicitFallback_ThenThatLocalesOwnParents()
    {
        var registry = With(new Locale { Tag = "es-MX" }, new Locale { Tag = "es" }, new Locale { Tag = "es-419", FallbackLocale = "es-MX" });

        Assert.Equal(
            "es-419:Requested:searched es-MX:Explicit:searched es:Parent:searched default:Default:searched",
            Describe(registry.Chain("es-419")));
    }

    [Fact]
    public void Chain_MarksUnregisteredAndDisabledLocalesAsSkipped()
    {
        var registry = With(new Locale { Tag = "zh-Hant", Disabled = true });

        Assert.Equal(
            "zh-Hant-TW:Requested:skipped zh-Hant:Parent:skipped zh:Parent:skipped default:Default:searched",
            Describe(registry.Chain("zh-Hant-TW")));
    }

    [Fact]
    public void Chain_OfDefault_IsDefaultAlone()
    {
        Assert.Equal("default:Requested:searched", Describe(With().Chain("default")));
    }

    [Fact]
    public void Chain_WithAnExplicitFallbackToDefault_SkipsTheParents()
    {
        var registry = With(new Locale { Tag = "fr" }, new Locale { Tag = "fr-CA", FallbackLocale = "default" });

        Assert.Equal("fr-CA:Requested:searched default:Default:searched", Describe(registry.Chain("fr-CA")));
    }

    [Fact]
    public void CycleIf_AFallbackLeadingBackThroughAParent_NamesTheLoop()
    {
        var registry = With(new Locale { Tag = "fr" }, new Locale { Tag = "fr-CA" });

        Assert.Equal("fr -> fr-CA -> fr", registry.CycleIf("fr", "fr-CA"));
        Assert.Null(registry.CycleIf("fr-CA", "fr"));
    }

    [Fact]
    public void CycleIf_AFallbackLeadingBackThroughExplicitFallbacks_NamesTheLoop()
    {
        var registry = With(new Locale { Tag = "a-AA", FallbackLocale = "b-BB" }, new Locale { Tag = "b-BB", FallbackLocale = "c-CC" }, new Locale { Tag = "c-CC" });

        Assert.Equal("c-CC -> a-AA -> b-BB -> c-CC", registry.CycleIf("c-CC", "a-AA"));
    }

    [Fact]
    public void RulesLanguage_IsTheExplicitOne_ElseTheLanguageSubtag_AndEnglishForDefault()
    {
        var registry = With(new Locale { Tag = "pt-PT" }, new Locale { Tag = "tlh-QO", RulesLanguage = "en" });

        Assert.Equal("pt", registry.RulesLanguageOf("pt-PT"));
        Assert.Equal("en", registry.RulesLanguageOf("tlh-QO"));
        Assert.Equal("de", registry.RulesLanguageOf("de-AT"));
        Assert.Equal("en", registry.RulesLanguageOf("default"));
    }

    [Fact]
    public void Missing_OfAnUnreadChain_AsksForTheTagItsParentsAndDefault_ThenNothing()
    {
        var registry = new LocaleRegistry();

        Assert.Equal(["default", "zh-Hant-TW", "zh-Hant", "zh"], registry.Missing("zh-Hant-TW"));
        registry.Add("default", null);
        registry.Add("zh-Hant-TW", null);
        registry.Add("zh-Hant", new LocaleRecord { Locale = new Locale { Tag = "zh-Hant" } });
        registry.Add("zh", null);
        Assert.Empty(registry.Missing("zh-Hant-TW"));
        Assert.Equal("zh-Hant-TW:Requested:skipped zh-Hant:Parent:searched zh:Parent:skipped default:Default:searched", Describe(registry.Chain("zh-Hant-TW")));
    }

    [Fact]
    public void Missing_FollowsAnExplicitFallbackIntoLocalesNotReadYet()
    {
        var registry = new LocaleRegistry();
        registry.Add("default", null);
        registry.Add("es-419", new LocaleRecord { Locale = new Locale { Tag = "es-419", FallbackLocale = "es-MX" } });
        registry.Add("es", null);

        Assert.Equal(["es-MX"], registry.Missing("es-419"));
        Assert.Throws<InvalidOperationException>(() => registry.Chain("es-419"));
    }

    [Fact]
    public void Missing_UnderAProposedFallback_WalksTheProposal()
    {
        var registry = new LocaleRegistry();
        registry.Add("default", null);
        registry.Add("fr", null);

        Assert.Equal(["fr-CA"], registry.Missing("fr-CA", ("fr", "fr-CA")));
        registry.Add("fr-CA", new LocaleRecord { Locale = new Locale { Tag = "fr-CA" } });
        Assert.Empty(registry.Missing("fr-CA", ("fr", "fr-CA")));
        Assert.Equal("fr -> fr-CA -> fr", registry.CycleIf("fr", "fr-CA"));
    }

    [Fact]
    public void Default_NeverWritten_HasItsInitialSettings()
    {
        var registry = With();

        Assert.True(registry.IsSearched("default"));
        Assert.Equal(("default", true, 1L), (registry.Find("default")!.Tag, registry.Find("default")!.IsDefault, registry.Find("default")!.Version));
        Assert.Null(registry.Find("fr"));
    }
}

using GameSystem.LanguageSystem.V1;
using GameSystem.Services.Testing;

namespace GameSystem.Services.LanguageSystem.Tests;

/// <summary>
/// Who may call what, as the contract declares it: a contract edit that drops or changes a
/// method's access or scope, or a new method nobody decided on, fails here.
/// </summary>
public sealed class ContractAccessTests
{
    private const string Admin = "authenticated language-system.admin";

    [Fact]
    public void EveryMethod_DeclaresWhoMayCallIt_AuthoringAdminsOnly_LookupsAnyCaller()
    {
        var expected = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            // Locales, string tables and speech styles are game content that operators and their tools author.
            ["CreateLocale"] = Admin,
            ["UpdateLocale"] = Admin,
            ["DeleteLocale"] = Admin,
            ["CreateStringEntry"] = Admin,
            ["UpdateStringEntry"] = Admin,
            ["DeleteStringEntry"] = Admin,
            ["ImportStringEntries"] = Admin,
            ["CreateSpeechStyle"] = Admin,
            ["UpdateSpeechStyle"] = Admin,
            ["DeleteSpeechStyle"] = Admin,

            // Lookups and formatting: clients fetch their strings (Localize applies styles too, so ApplySpeechStyle shows nothing more).
            ["GetLocale"] = "authenticated",
            ["ListLocales"] = "authenticated",
            ["ResolveFallbackChain"] = "authenticated",
            ["GetPluralRules"] = "authenticated",
            ["SelectPluralCategory"] = "authenticated",
            ["GetStringEntry"] = "authenticated",
            ["ListStringEntries"] = "authenticated",
            ["ExportStringTable"] = "authenticated",
            ["Localize"] = "authenticated",
            ["BatchLocalize"] = "authenticated",
            ["FormatText"] = "authenticated",
            ["GetSpeechStyle"] = "authenticated",
            ["ListSpeechStyles"] = "authenticated",
            ["ApplySpeechStyle"] = "authenticated",
        };

        Assert.Equal(expected, ContractAccess.Of(typeof(ILanguageSystemService)));
    }
}

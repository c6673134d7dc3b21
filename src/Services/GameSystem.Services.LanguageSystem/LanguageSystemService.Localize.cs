using GameSystem.Common.V1;
using GameSystem.LanguageSystem.V1;
using GameSystem.Mesh;
using GameSystem.Services.LanguageSystem.Internal;
using GameSystem.State;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace GameSystem.Services.LanguageSystem;

/// <summary>Plural rules, lookups along fallback chains and formatting.</summary>
public sealed partial class LanguageSystemService
{
    private const int MaxBatchItems = 500;

    /// <inheritdoc/>
    public async ValueTask<GetPluralRulesResponse> GetPluralRulesAsync(GetPluralRulesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var tag = CanonicalTag(request.Locale, "locale", allowDefault: true);
        var registry = await ReadLocaleAsync(tag, context.CancellationToken).ConfigureAwait(false);
        var cldr = CldrPluralRules.Embedded;
        var rules = cldr.For(registry.RulesLanguageOf(tag), request.Ordinal);
        var response = new GetPluralRulesResponse { RulesLanguage = rules.Language, CldrVersion = cldr.CldrVersion };
        response.Rules.AddRange(rules.Rules.Select(r => new PluralRule
        {
            Category = r.Category,
            Condition = r.Condition,
            IntegerSamples = r.IntegerSamples,
            DecimalSamples = r.DecimalSamples,
        }));
        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<SelectPluralCategoryResponse> SelectPluralCategoryAsync(SelectPluralCategoryRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var tag = CanonicalTag(request.Locale, "locale", allowDefault: true);
        var count = MessageFormatter.ReadCount(request.HasCount, request.Count, request.HasDecimalCount, request.DecimalCount)
            ?? throw Errors.InvalidArgument("A number is required: set count (an integer) or decimal_count (e.g. '1.50').");
        var registry = await ReadLocaleAsync(tag, context.CancellationToken).ConfigureAwait(false);
        var rules = CldrPluralRules.Embedded.For(registry.RulesLanguageOf(tag), request.Ordinal);
        return new SelectPluralCategoryResponse { Category = rules.Select(count.Operands), RulesLanguage = rules.Language };
    }

    /// <inheritdoc/>
    public async ValueTask<LocalizeResponse> LocalizeAsync(LocalizeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var tag = CanonicalTag(request.Locale, "locale", allowDefault: true);
        ValidatePolicy(request.MissingArgumentPolicy);
        var count = MessageFormatter.ReadCount(request.HasCount, request.Count, request.HasDecimalCount, request.DecimalCount);
        var lookup = new Lookup(this, new LocaleRegistry(), request.MissingArgumentPolicy, request.FallbackToKey, context.CancellationToken);
        var result = await lookup.LocalizeAsync(request.Key, tag, count, request.Args, request.SpeechStyleId, request.HasStyleSeed ? request.StyleSeed : null).ConfigureAwait(false);
        return new LocalizeResponse { Result = result };
    }

    /// <inheritdoc/>
    public async ValueTask<BatchLocalizeResponse> BatchLocalizeAsync(BatchLocalizeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var tag = CanonicalTag(request.Locale, "locale", allowDefault: true);
        Errors.Require(request.Items.Count is > 0 and <= MaxBatchItems, $"items must hold 1-{MaxBatchItems} lookups; got {request.Items.Count}.");
        ValidatePolicy(request.MissingArgumentPolicy);
        var lookup = new Lookup(this, new LocaleRegistry(), request.MissingArgumentPolicy, request.FallbackToKey, context.CancellationToken);

        // Every chain and every entry the items may need, read in two or three round trips for
        // the whole batch rather than some per item; an item whose input is bad is left out
        // here and fails on its own below.
        var wanted = new List<(string Key, string Tag)>(request.Items.Count);
        foreach (var item in request.Items)
        {
            var itemTag = item.Locale.Length == 0 ? tag : LocaleTags.Canonicalize(item.Locale, out _);
            if (itemTag is not null && item.Key.Length <= MaxKeyLength && KeyPattern().IsMatch(item.Key))
            {
                wanted.Add((item.Key, itemTag));
            }
        }

        await lookup.PrefetchAsync(wanted).ConfigureAwait(false);
        var response = new BatchLocalizeResponse();
        for (var i = 0; i < request.Items.Count; i++)
        {
            var item = request.Items[i];
            try
            {
                var itemTag = item.Locale.Length == 0 ? tag : CanonicalTag(item.Locale, $"items[{i}].locale", allowDefault: true);
                var count = MessageFormatter.ReadCount(item.HasCount, item.Count, item.HasDecimalCount, item.DecimalCount, $"items[{i}].decimal_count");
                var style = item.SpeechStyleId.Length > 0 ? item.SpeechStyleId : request.SpeechStyleId;
                var localized = await lookup.LocalizeAsync(item.Key, itemTag, count, item.Args, style, seed: null).ConfigureAwait(false);
                response.Results.Add(new LocalizeResult { Localized = localized });
            }
            catch (RpcException e) when (e.StatusCode is not (StatusCode.Cancelled or StatusCode.DeadlineExceeded))
            {
                response.Results.Add(new LocalizeResult { Error = e.GetRpcStatus() });
            }
        }

        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<FormatTextResponse> FormatTextAsync(FormatTextRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.TemplateCase != FormatTextRequest.TemplateOneofCase.None, "A template is required: set text or plural.");
        var tag = CanonicalTag(request.Locale, "locale", allowDefault: true);
        ValidatePolicy(request.MissingArgumentPolicy);
        var text = request.TemplateCase == FormatTextRequest.TemplateOneofCase.Text ? request.Text : null;
        var plural = request.TemplateCase == FormatTextRequest.TemplateOneofCase.Plural ? request.Plural : null;
        var (_, problem) = MessageFormatter.Validate(text, plural, maxLength: 0);
        Errors.Require(problem is null, $"The template is malformed: {problem}.");
        var count = MessageFormatter.ReadCount(request.HasCount, request.Count, request.HasDecimalCount, request.DecimalCount);
        var registry = await ReadLocaleAsync(tag, context.CancellationToken).ConfigureAwait(false);
        var formatted = MessageFormatter.Format(text, plural, count, request.Args, registry.RulesLanguageOf(tag), request.MissingArgumentPolicy);
        var response = new FormatTextResponse { Text = formatted.Text, PluralCategory = formatted.Category };
        response.MissingArguments.AddRange(formatted.MissingArguments);
        return response;
    }

    private static void ValidatePolicy(MissingArgumentPolicy policy) =>
        Errors.Require(System.Enum.IsDefined(policy), $"missing_argument_policy {(int)policy} is not a MissingArgumentPolicy.");

    /// <summary>
    /// The lookups of one Localize or BatchLocalize call: the locales their chains walk through
    /// read once, each chain's entries for a key in one read, and each speech style read once
    /// however many items use it.
    /// </summary>
    private sealed class Lookup(
        LanguageSystemService service, LocaleRegistry registry, MissingArgumentPolicy policy, bool fallbackToKey, CancellationToken cancellationToken)
    {
        private readonly Dictionary<string, SpeechStyle> _styles = new(StringComparer.Ordinal);
        private readonly Dictionary<(string Locale, string Key), StringEntry?> _entries = [];

        /// <summary>Reads the chains of every lookup, then every entry they may find, all at once.</summary>
        public async ValueTask PrefetchAsync(IReadOnlyCollection<(string Key, string Tag)> lookups)
        {
            await service.LoadChainsAsync(registry, [.. lookups.Select(l => l.Tag).Distinct(StringComparer.Ordinal)], null, cancellationToken).ConfigureAwait(false);
            var wanted = lookups.SelectMany(l => registry.SearchedChain(l.Tag).Select(step => (Locale: step, l.Key))).Distinct().Where(w => !_entries.ContainsKey(w)).ToList();
            foreach (var batch in wanted.Chunk(StateKeys.MaxPageSize))
            {
                var read = await service.ReadEntriesAsync([.. batch.Select(w => StoreKeys.Entry(w.Locale, w.Key))], cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < batch.Length; i++)
                {
                    _entries[batch[i]] = read[i];
                }
            }
        }

        public async ValueTask<LocalizedString> LocalizeAsync(
            string key, string tag, PluralCount? count, MapField<string, TypedValue> args, string styleId, long? seed)
        {
            ValidateKey(key, "key");
            await PrefetchAsync([(key, tag)]).ConfigureAwait(false);
            var chain = registry.Chain(tag);
            StringEntry? entry = null;
            foreach (var step in chain.Where(s => s.Searched))
            {
                entry = _entries[(step.Locale, key)];
                if (entry is not null)
                {
                    break;
                }
            }

            var result = new LocalizedString { Key = key, RequestedLocale = tag };
            if (entry is null)
            {
                if (!fallbackToKey)
                {
                    throw Errors.NotFound($"No table in the fallback chain {string.Join(" -> ", chain.Select(s => s.Locale))} has key '{key}'; set fallback_to_key to get the key back as text.");
                }

                result.Text = key;
                result.KeyMissing = true;
                return result;
            }

            Func<string, string>? restyle = null;
            if (styleId.Length > 0)
            {
                var style = await StyleAsync(styleId).ConfigureAwait(false);
                if (StyleApplies(style, entry.Locale, registry, out _))
                {
                    var compiled = service._speech.Compile(style);
                    var intensity = style.HasDefaultIntensity ? style.DefaultIntensity : 1.0;
                    restyle = template => SpeechStyleEngine.Apply(compiled, template, intensity, seed ?? SeededRandom.SeedOf(style.StyleId, template)).Text;
                }
            }

            var formatted = MessageFormatter.Format(
                entry.ValueCase == StringEntry.ValueOneofCase.Text ? entry.Text : null,
                entry.ValueCase == StringEntry.ValueOneofCase.Plural ? entry.Plural : null,
                count, args, registry.RulesLanguageOf(entry.Locale), policy, restyle);
            result.Text = formatted.Text;
            result.ResolvedLocale = entry.Locale;
            result.FellBack = entry.Locale != tag;
            result.PluralCategory = formatted.Category;
            result.FormUsed = formatted.FormUsed;
            result.ExplicitZeroUsed = formatted.ExplicitZeroUsed;
            result.EntryVersion = entry.Version;
            result.MissingArguments.AddRange(formatted.MissingArguments);
            return result;
        }

        private async ValueTask<SpeechStyle> StyleAsync(string styleId)
        {
            if (!_styles.TryGetValue(styleId, out var style))
            {
                style = _styles[styleId] = await service.ReadStyleAsync(styleId, "speech_style_id", cancellationToken).ConfigureAwait(false);
            }

            return style;
        }
    }
}

using System.Globalization;
using System.Text;
using GameSystem.LanguageSystem.V1;
using GameSystem.Services.LanguageSystem.Internal;
using GameSystem.State;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.LanguageSystem;

/// <summary>
/// language-system: locales with fallback chains, string tables, CLDR plural rules,
/// placeholder formatting and NPC speech styles, kept in the state store with
/// expected-version writes and atomic counters so concurrent instances never lose an update.
/// </summary>
public sealed partial class LanguageSystemService : ILanguageSystemService
{
    private const int MaxNameLength = 200;
    private static readonly string[] LocaleUpdatePaths = ["display_name", "native_name", "fallback_locale", "rules_language", "direction", "disabled"];

    private readonly IStateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<LanguageSystemService> _logger;
    private readonly RequestDeduplicator _requests;
    private readonly SpeechStyleEngine _speech = new();

    /// <summary>Creates the service over a state store.</summary>
    public LanguageSystemService(IStateStore store, TimeProvider timeProvider, ILogger<LanguageSystemService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _time = timeProvider;
        _logger = logger;
        _requests = new RequestDeduplicator(store);
    }

    /// <inheritdoc/>
    public async ValueTask<CreateLocaleResponse> CreateLocaleAsync(CreateLocaleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.RequestId.Length > 0, "request_id is required: a client-chosen id (a UUID) that makes retries safe.");
        Errors.Require(request.Locale is not null, "locale is required: set at least locale.tag, e.g. 'fr-CA'.");
        var tag = CanonicalTag(request.Locale!.Tag, "locale.tag", allowDefault: true);
        if (tag == LocaleTags.Default)
        {
            throw Errors.AlreadyExists("The root locale 'default' always exists; change it with UpdateLocale.");
        }

        var fallback = request.Locale.FallbackLocale.Length == 0 ? "" : CanonicalTag(request.Locale.FallbackLocale, "locale.fallback_locale", allowDefault: true);
        var rulesLanguage = RulesLanguage(request.Locale.RulesLanguage, "locale.rules_language");
        ValidateNames(request.Locale, "locale");
        Errors.Require(System.Enum.IsDefined(request.Locale.Direction), $"locale.direction {(int)request.Locale.Direction} is not a TextDirection.");
        Errors.Require(fallback != tag, $"locale.fallback_locale cannot be the locale itself ('{tag}').");

        var cancellationToken = context.CancellationToken;
        return await _requests.RunAsync("CreateLocale", request.RequestId, request, CreateLocaleResponse.Parser, async () =>
        {
            var stamp = Now();
            var locale = new Locale
            {
                Tag = tag,
                DisplayName = request.Locale.DisplayName,
                NativeName = request.Locale.NativeName,
                FallbackLocale = fallback,
                RulesLanguage = rulesLanguage,
                Direction = request.Locale.Direction == TextDirection.Unspecified ? TextDirection.LeftToRight : request.Locale.Direction,
                Disabled = request.Locale.Disabled,
                Version = 1,
                CreateTime = stamp,
                UpdateTime = stamp,
            };
            await MutateRegistryAsync(registry =>
            {
                if (registry.Find(tag) is not null)
                {
                    throw Errors.AlreadyExists($"Locale '{tag}' is already registered; use GetLocale to read it or UpdateLocale to change it.");
                }

                CheckFallback(registry, tag, fallback, "locale.fallback_locale");
                registry.Put(locale);
            }, cancellationToken).ConfigureAwait(false);
            LogLocaleChanged(_logger, tag, "created", 1);
            return new CreateLocaleResponse { Locale = await ViewAsync(locale, cancellationToken).ConfigureAwait(false) };
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<GetLocaleResponse> GetLocaleAsync(GetLocaleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var tag = CanonicalTag(request.Locale, "locale", allowDefault: true);
        var (registry, _) = await ReadRegistryAsync(context.CancellationToken).ConfigureAwait(false);
        var locale = registry.Find(tag) ?? throw LocaleNotFound(tag);
        return new GetLocaleResponse { Locale = await ViewAsync(locale, context.CancellationToken).ConfigureAwait(false) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListLocalesResponse> ListLocalesAsync(ListLocalesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var pageSize = PageTokens.Size(request.PageSize, defaultSize: 100, maxSize: 500);
        var after = PageTokens.Decode(request.PageToken, "ListLocales", 1)?[0];
        var (registry, _) = await ReadRegistryAsync(context.CancellationToken).ConfigureAwait(false);
        var (page, next) = PageTokens.Take(
            registry.Locales.Where(l => (request.IncludeDisabled || !l.Disabled) && (after is null || LocaleRegistry.CompareTags(l.Tag, after) > 0)),
            pageSize,
            l => PageTokens.Encode(l.Tag));
        var response = new ListLocalesResponse { NextPageToken = next };
        foreach (var locale in page)
        {
            response.Locales.Add(await ViewAsync(locale, context.CancellationToken).ConfigureAwait(false));
        }

        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<UpdateLocaleResponse> UpdateLocaleAsync(UpdateLocaleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.Locale is not null, "locale is required: set locale.tag and the fields named in update_mask.");
        var tag = CanonicalTag(request.Locale!.Tag, "locale.tag", allowDefault: true);
        var paths = MaskPaths(request.UpdateMask, LocaleUpdatePaths, emptyMeansAll: false);
        var changes = request.Locale;
        var fallback = paths.Contains("fallback_locale") && changes.FallbackLocale.Length > 0 ? CanonicalTag(changes.FallbackLocale, "locale.fallback_locale", allowDefault: true) : "";
        var rulesLanguage = paths.Contains("rules_language") ? RulesLanguage(changes.RulesLanguage, "locale.rules_language") : "";
        ValidateNames(changes, "locale");
        Errors.Require(System.Enum.IsDefined(changes.Direction), $"locale.direction {(int)changes.Direction} is not a TextDirection.");
        if (tag == LocaleTags.Default)
        {
            Errors.Require(!(paths.Contains("disabled") && changes.Disabled), "The root locale 'default' cannot be disabled: it ends every fallback chain.");
            Errors.Require(fallback.Length == 0, "The root locale 'default' cannot have a fallback_locale: it ends every fallback chain.");
        }

        Errors.Require(fallback != tag, $"locale.fallback_locale cannot be the locale itself ('{tag}').");
        Locale? updated = null;
        await MutateRegistryAsync(registry =>
        {
            var current = registry.Find(tag) ?? throw LocaleNotFound(tag);
            Errors.CheckVersion($"Locale '{tag}'", request.ExpectedVersion, current.Version);
            var next = current.Clone();
            if (paths.Contains("display_name"))
            {
                next.DisplayName = changes.DisplayName;
            }

            if (paths.Contains("native_name"))
            {
                next.NativeName = changes.NativeName;
            }

            if (paths.Contains("fallback_locale"))
            {
                CheckFallback(registry, tag, fallback, "locale.fallback_locale");
                next.FallbackLocale = fallback;
            }

            if (paths.Contains("rules_language"))
            {
                next.RulesLanguage = rulesLanguage;
            }

            if (paths.Contains("direction"))
            {
                next.Direction = changes.Direction == TextDirection.Unspecified ? TextDirection.LeftToRight : changes.Direction;
            }

            if (paths.Contains("disabled"))
            {
                next.Disabled = changes.Disabled;
            }

            if (!next.Equals(current))
            {
                next.Version = current.Version + 1;
                next.UpdateTime = Now();
                registry.Put(next);
            }

            updated = next;
        }, context.CancellationToken).ConfigureAwait(false);
        LogLocaleChanged(_logger, tag, "updated", updated!.Version);
        return new UpdateLocaleResponse { Locale = await ViewAsync(updated, context.CancellationToken).ConfigureAwait(false) };
    }

    /// <inheritdoc/>
    public async ValueTask<DeleteLocaleResponse> DeleteLocaleAsync(DeleteLocaleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var tag = CanonicalTag(request.Locale, "locale", allowDefault: true);
        if (tag == LocaleTags.Default)
        {
            throw Errors.FailedPrecondition("The root locale 'default' cannot be deleted: it ends every fallback chain.");
        }

        var cancellationToken = context.CancellationToken;
        if (!request.Force)
        {
            var firstEntry = await _store.ListAsync(StoreKeys.TablePrefix(tag), 1, null, cancellationToken).ConfigureAwait(false);
            if (firstEntry.Items.Count > 0)
            {
                var count = await ReadCounterAsync(StoreKeys.Count(tag), cancellationToken).ConfigureAwait(false);
                throw Errors.FailedPrecondition($"Locale '{tag}' still has {Math.Max(count, 1)} string entries; delete them first or set force to delete them with the locale.");
            }
        }

        await MutateRegistryAsync(registry =>
        {
            var current = registry.Find(tag) ?? throw LocaleNotFound(tag);
            Errors.CheckVersion($"Locale '{tag}'", request.ExpectedVersion, current.Version);
            var dependents = registry.FallingBackTo(tag).ToList();
            if (dependents.Count > 0)
            {
                throw Errors.FailedPrecondition($"Locale '{tag}' is the fallback_locale of {string.Join(", ", dependents.Select(d => $"'{d}'"))}; change their fallback_locale first.");
            }

            registry.Remove(tag);
        }, cancellationToken).ConfigureAwait(false);

        var deleted = 0;
        if (request.Force)
        {
            deleted = await DeleteTableAsync(tag, cancellationToken).ConfigureAwait(false);
        }

        LogLocaleChanged(_logger, tag, "deleted", 0);
        return new DeleteLocaleResponse { DeletedEntryCount = deleted };
    }

    /// <inheritdoc/>
    public async ValueTask<ResolveFallbackChainResponse> ResolveFallbackChainAsync(ResolveFallbackChainRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var tag = CanonicalTag(request.Locale, "locale", allowDefault: true);
        var (registry, _) = await ReadRegistryAsync(context.CancellationToken).ConfigureAwait(false);
        var response = new ResolveFallbackChainResponse();
        response.Steps.AddRange(registry.Chain(tag));
        return response;
    }

    /// <summary>
    /// The registry, creating it (with the <c>default</c> locale) on first use: <c>default</c>
    /// exists in every store, even an empty one, from the first call on.
    /// </summary>
    private async ValueTask<(LocaleRegistry Registry, long Version)> ReadRegistryAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var entry = await _store.GetAsync(StoreKeys.Registry, cancellationToken).ConfigureAwait(false);
            if (entry is not null)
            {
                return (LocaleRegistry.Parse(entry.Value), entry.Version);
            }

            var initial = LocaleRegistry.Initial(Now());
            var created = await _store.SetAsync(StoreKeys.Registry, initial.ToBytes(), expectedVersion: 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (created.Succeeded)
            {
                return (initial, created.Version);
            }
        }
    }

    /// <summary>
    /// Changes the registry with an expected-version write, re-reading and re-applying
    /// <paramref name="mutate"/> (which re-checks everything) when another writer got there first.
    /// </summary>
    private async ValueTask MutateRegistryAsync(Action<LocaleRegistry> mutate, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (registry, version) = await ReadRegistryAsync(cancellationToken).ConfigureAwait(false);
            mutate(registry);
            var result = await _store.SetAsync(StoreKeys.Registry, registry.ToBytes(), version, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return;
            }
        }
    }

    /// <summary>A locale as the API shows it: with its table's entry count and revision.</summary>
    private async ValueTask<Locale> ViewAsync(Locale locale, CancellationToken cancellationToken)
    {
        var view = locale.Clone();
        view.StringCount = (int)Math.Clamp(await ReadCounterAsync(StoreKeys.Count(locale.Tag), cancellationToken).ConfigureAwait(false), 0, int.MaxValue);
        view.TableRevision = await ReadCounterAsync(StoreKeys.Revision(locale.Tag), cancellationToken).ConfigureAwait(false);
        return view;
    }

    private async ValueTask<long> ReadCounterAsync(string key, CancellationToken cancellationToken)
    {
        var entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return entry is null ? 0 : long.Parse(Encoding.ASCII.GetString(entry.Value.Span), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Deletes a stored message under the version it was read at, re-reading when another
    /// writer got there first; ABORTED when a non-zero <paramref name="expectedVersion"/> does
    /// not match. Returns the version deleted.
    /// </summary>
    private async ValueTask<long> DeleteAtVersionAsync(string key, string what, long expectedVersion, Func<RpcException> notFound, CancellationToken cancellationToken)
    {
        while (true)
        {
            var stored = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false) ?? throw notFound();
            Errors.CheckVersion(what, expectedVersion, stored.Version);
            var result = await _store.DeleteAsync(key, stored.Version, cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return stored.Version;
            }
        }
    }

    /// <summary>Deletes every entry of a table (a forced locale deletion); returns how many it deleted.</summary>
    private async ValueTask<int> DeleteTableAsync(string tag, CancellationToken cancellationToken)
    {
        var deleted = 0;
        while (true)
        {
            // Deleting while listing would move SCAN cursors under our feet: take a page, delete it, start over.
            var page = await _store.ListAsync(StoreKeys.TablePrefix(tag), StateKeys.MaxPageSize, null, cancellationToken).ConfigureAwait(false);
            if (page.Items.Count == 0)
            {
                break;
            }

            foreach (var item in page.Items)
            {
                var result = await _store.DeleteAsync(item.Key, item.Entry.Version, cancellationToken).ConfigureAwait(false);
                if (result.Succeeded)
                {
                    deleted++;
                }
            }
        }

        await _store.DeleteAsync(StoreKeys.Count(tag), cancellationToken: cancellationToken).ConfigureAwait(false);

        // The revision counter stays (and moves on), so no etag of the old table can match a new one.
        await _store.IncrementAsync(StoreKeys.Revision(tag), cancellationToken: cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    private static void CheckFallback(LocaleRegistry registry, string tag, string fallback, string field)
    {
        if (fallback.Length == 0)
        {
            return;
        }

        if (registry.Find(fallback) is null)
        {
            throw Errors.FailedPrecondition($"{field} '{fallback}' is not registered; register it with CreateLocale first.");
        }

        if (registry.CycleIf(tag, fallback) is { } cycle)
        {
            throw Errors.FailedPrecondition($"{field} '{fallback}' would make the fallback chain loop: {cycle}.");
        }
    }

    /// <summary>
    /// The paths of an update_mask, each one of <paramref name="allowed"/>; INVALID_ARGUMENT
    /// otherwise, and for an empty mask unless <paramref name="emptyMeansAll"/>.
    /// </summary>
    private static HashSet<string> MaskPaths(FieldMask? mask, string[] allowed, bool emptyMeansAll)
    {
        var list = string.Join(", ", allowed);
        Errors.Require(emptyMeansAll || mask is { Paths.Count: > 0 }, $"update_mask is required: name the fields to change ({list}).");
        var paths = (mask?.Paths ?? []).ToHashSet(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            Errors.Require(allowed.Contains(path), $"update_mask path '{path}' cannot be updated; allowed paths are {list}{(emptyMeansAll ? " (empty for all)" : "")}.");
        }

        return paths;
    }

    private static void ValidateNames(Locale locale, string field)
    {
        Errors.Require(locale.DisplayName.Length <= MaxNameLength, $"{field}.display_name is at most {MaxNameLength} characters; it has {locale.DisplayName.Length}.");
        Errors.Require(locale.NativeName.Length <= MaxNameLength, $"{field}.native_name is at most {MaxNameLength} characters; it has {locale.NativeName.Length}.");
    }

    /// <summary>A request's locale tag in canonical form; INVALID_ARGUMENT naming the field when malformed.</summary>
    private static string CanonicalTag(string input, string field, bool allowDefault)
    {
        Errors.Require(input.Length > 0, $"{field} is required: a BCP 47 tag such as 'fr-CA'{(allowDefault ? " or 'default'" : "")}.");
        var tag = LocaleTags.Canonicalize(input, out var problem);
        Errors.Require(tag is not null, $"{field} '{input}' is not a well-formed BCP 47 tag: {problem}. Examples: 'en', 'fr-CA', 'zh-Hant-TW'.");
        Errors.Require(allowDefault || tag != LocaleTags.Default, $"{field} cannot be 'default' here.");
        return tag!;
    }

    private static string RulesLanguage(string input, string field)
    {
        if (input.Length == 0)
        {
            return "";
        }

        var tag = CanonicalTag(input, field, allowDefault: false);
        Errors.Require(CldrPluralRules.Embedded.Knows(tag), $"{field} '{tag}' has no CLDR plural rules; use a CLDR language such as 'en', 'fr' or 'pt-PT', or leave it empty for the tag's own language.");
        return tag;
    }

    private static RpcException LocaleNotFound(string tag) =>
        Errors.NotFound($"Locale '{tag}' is not registered; ListLocales shows the registered locales and CreateLocale registers one.");

    private Timestamp Now() => Timestamp.FromDateTimeOffset(_time.GetUtcNow());

    [LoggerMessage(EventId = 2200, Level = LogLevel.Information, Message = "Locale {Locale} {Change}, version {Version}")]
    private static partial void LogLocaleChanged(ILogger logger, string locale, string change, long version);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "String table {Locale}: {Change} {Count} entries, table revision {Revision}")]
    private static partial void LogTableChanged(ILogger logger, string locale, string change, int count, long revision);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "Speech style {StyleId} {Change}, version {Version}")]
    private static partial void LogStyleChanged(ILogger logger, string styleId, string change, long version);
}

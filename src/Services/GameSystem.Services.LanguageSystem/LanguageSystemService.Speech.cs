using System.Text.RegularExpressions;
using GameSystem.LanguageSystem.V1;
using GameSystem.Services.LanguageSystem.Internal;
using GameSystem.State;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Services.LanguageSystem;

/// <summary>Speech styles: how NPCs talk.</summary>
public sealed partial class LanguageSystemService
{
    private const int MaxRules = 200;
    private const int MaxExampleLines = 10;
    private const int MaxApplyTextLength = 10_000;
    private static readonly string[] StyleUpdatePaths =
        ["display_name", "description", "locale", "dialect", "register", "disable_builtin_register_rules", "rules", "default_intensity", "prompt_guidance", "example_lines"];

    /// <inheritdoc/>
    public async ValueTask<CreateSpeechStyleResponse> CreateSpeechStyleAsync(CreateSpeechStyleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.RequestId.Length > 0, "request_id is required: a client-chosen id (a UUID) that makes retries safe.");
        Errors.Require(request.Style is not null, "style is required: set at least style.style_id and style.locale.");
        ValidateStyleId(request.Style!.StyleId, "style.style_id");
        var style = NormalizeStyle(request.Style);
        var cancellationToken = context.CancellationToken;
        var claim = new RequestClaim(StoreKeys.StyleRequest("CreateSpeechStyle", request.RequestId), "CreateSpeechStyle", request.RequestId, request);
        var key = StoreKeys.Style(style.StyleId);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([claim.Key, StoreKeys.StylesRevision, key], cancellationToken).ConfigureAwait(false);
            if (claim.AnswerOf(read[0], CreateSpeechStyleResponse.Parser) is { } answer)
            {
                return answer;
            }

            if (read[2] is not null)
            {
                throw Errors.AlreadyExists($"Speech style '{style.StyleId}' already exists; use UpdateSpeechStyle to change it or choose another style_id.");
            }

            var created = style.Clone();
            created.CreateTime = created.UpdateTime = Now();
            created.Version = 1;
            var transaction = StylesChange(read[1], out var revision)
                .Set(key, new StyleRecord { Style = created }.ToByteArray(), expectedVersion: 0)
                .IndexAdd(StoreKeys.StyleIds, created.StyleId);
            var response = new CreateSpeechStyleResponse { Style = created };
            claim.Record(transaction, response);
            _outbox.Publish(transaction, ChangeEvents.SpeechStyleChanged(created.StyleId, ChangeType.Created, created.Version, revision, created.UpdateTime));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogStyleChanged(_logger, created.StyleId, "created", created.Version);
                return response;
            }
        }

        throw Errors.Contended("The speech styles");
    }

    /// <inheritdoc/>
    public async ValueTask<GetSpeechStyleResponse> GetSpeechStyleAsync(GetSpeechStyleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        return new GetSpeechStyleResponse { Style = await ReadStyleAsync(request.StyleId, "style_id", context.CancellationToken).ConfigureAwait(false) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListSpeechStylesResponse> ListSpeechStylesAsync(ListSpeechStylesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var pageSize = PageTokens.Size(request.PageSize, defaultSize: 50, maxSize: 200);
        var after = PageTokens.Decode(request.PageToken, "ListSpeechStyles", 1)?[0];
        var locale = request.Locale.Length == 0 ? "" : CanonicalTag(request.Locale, "locale", allowDefault: true);
        Errors.Require(System.Enum.IsDefined(request.Register), $"register {(int)request.Register} is not a SpeechRegister.");
        var merge = new IndexMerge(_store, [StoreKeys.StyleIds], prefix: null, after is null ? null : (after, 0), pageSize + 1, distinct: false);
        var page = await IndexPages.ReadAsync(
            merge,
            pageSize,
            filtered: locale.Length > 0 || request.Dialect.Length > 0 || request.Register != SpeechRegister.Unspecified,
            (chunk, ct) => ReadStylesAsync([.. chunk.Select(c => StoreKeys.Style(c.Member))], ct),
            s => (locale.Length == 0 || s.Locale == locale)
                && (request.Dialect.Length == 0 || s.Dialect == request.Dialect)
                && (request.Register == SpeechRegister.Unspecified || s.Register == request.Register),
            context.CancellationToken).ConfigureAwait(false);
        var response = new ListSpeechStylesResponse { NextPageToken = page.ResumeAfter is { } last ? PageTokens.Encode(last.Member) : "" };
        response.Styles.AddRange(page.Items);
        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<UpdateSpeechStyleResponse> UpdateSpeechStyleAsync(UpdateSpeechStyleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.Style is not null, "style is required: set style.style_id and the fields named in update_mask.");
        ValidateStyleId(request.Style!.StyleId, "style.style_id");
        var paths = MaskPaths(request.UpdateMask, StyleUpdatePaths, emptyMeansAll: false);
        var key = StoreKeys.Style(request.Style.StyleId);
        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([StoreKeys.StylesRevision, key], cancellationToken).ConfigureAwait(false);
            var current = StyleOf(read[1]) ?? throw StyleNotFound(request.Style.StyleId);
            Errors.CheckVersion($"Speech style '{request.Style.StyleId}'", request.ExpectedVersion, current.Version);
            var next = NormalizeStyle(MergeStyle(current, request.Style, paths));
            next.CreateTime = current.CreateTime;
            next.UpdateTime = current.UpdateTime;
            next.Version = current.Version;
            if (next.Equals(current))
            {
                return new UpdateSpeechStyleResponse { Style = current };
            }

            next.UpdateTime = Now();
            next.Version = current.Version + 1;
            var transaction = StylesChange(read[0], out var revision).Set(key, new StyleRecord { Style = next }.ToByteArray(), read[1]!.Version);
            _outbox.Publish(transaction, ChangeEvents.SpeechStyleChanged(next.StyleId, ChangeType.Updated, next.Version, revision, next.UpdateTime));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogStyleChanged(_logger, next.StyleId, "updated", next.Version);
                return new UpdateSpeechStyleResponse { Style = next };
            }
        }

        throw Errors.Contended("The speech styles");
    }

    /// <inheritdoc/>
    public async ValueTask<DeleteSpeechStyleResponse> DeleteSpeechStyleAsync(DeleteSpeechStyleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateStyleId(request.StyleId, "style_id");
        var key = StoreKeys.Style(request.StyleId);
        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([StoreKeys.StylesRevision, key], cancellationToken).ConfigureAwait(false);
            var current = StyleOf(read[1]) ?? throw StyleNotFound(request.StyleId);
            Errors.CheckVersion($"Speech style '{request.StyleId}'", request.ExpectedVersion, current.Version);
            var transaction = StylesChange(read[0], out var revision)
                .Delete(key, read[1]!.Version)
                .IndexRemove(StoreKeys.StyleIds, request.StyleId);
            _outbox.Publish(transaction, ChangeEvents.SpeechStyleChanged(request.StyleId, ChangeType.Deleted, current.Version, revision, Now()));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogStyleChanged(_logger, request.StyleId, "deleted", current.Version);
                return new DeleteSpeechStyleResponse();
            }
        }

        throw Errors.Contended("The speech styles");
    }

    /// <inheritdoc/>
    public async ValueTask<ApplySpeechStyleResponse> ApplySpeechStyleAsync(ApplySpeechStyleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.Text.Length is > 0 and <= MaxApplyTextLength, $"text must be 1-{MaxApplyTextLength} characters; it has {request.Text.Length}.");
        Errors.Require(!request.HasIntensity || request.Intensity is >= 0 and <= 1, $"intensity must be 0.0-1.0; got {request.Intensity}.");
        var style = await ReadStyleAsync(request.StyleId, "style_id", context.CancellationToken).ConfigureAwait(false);
        var locale = request.Locale.Length == 0 ? style.Locale : CanonicalTag(request.Locale, "locale", allowDefault: true);
        var intensity = request.HasIntensity ? request.Intensity : style.HasDefaultIntensity ? style.DefaultIntensity : 1.0;
        var seed = request.HasSeed ? request.Seed : SeededRandom.SeedOf(style.StyleId, request.Text);
        var response = new ApplySpeechStyleResponse { StyleId = style.StyleId, StyleVersion = style.Version, Intensity = intensity, Seed = seed, Text = request.Text };
        var registry = await ReadChainsAsync([locale], context.CancellationToken).ConfigureAwait(false);
        if (!StyleApplies(style, locale, registry, out var reason))
        {
            response.Skipped = true;
            response.SkipReason = reason;
            return response;
        }

        var styled = SpeechStyleEngine.Apply(_speech.Compile(style), request.Text, intensity, seed);
        response.Text = styled.Text;
        response.AppliedRules.AddRange(styled.AppliedRules);
        return response;
    }

    /// <summary>
    /// A style applies to text whose locale's fallback chain reaches the style's locale
    /// (<c>en-GB</c> text, <c>en</c> style). Text of the <c>default</c> table is written in
    /// <c>default</c>'s rules language, so an <c>en</c> style applies to it when that is <c>en</c>.
    /// </summary>
    private static bool StyleApplies(SpeechStyle style, string textLocale, LocaleRegistry registry, out string reason)
    {
        var chain = registry.Chain(textLocale);
        if (chain.Any(s => s.Locale == style.Locale)
            || (textLocale == LocaleTags.Default && registry.RulesLanguageOf(LocaleTags.Default) == style.Locale))
        {
            reason = "";
            return true;
        }

        reason = $"Speech style '{style.StyleId}' is written for '{style.Locale}', which the fallback chain of '{textLocale}' ({string.Join(" -> ", chain.Select(s => s.Locale))}) does not reach.";
        return false;
    }

    private async ValueTask<SpeechStyle> ReadStyleAsync(string styleId, string field, CancellationToken cancellationToken)
    {
        ValidateStyleId(styleId, field);
        return StyleOf(await _store.GetAsync(StoreKeys.Style(styleId), cancellationToken).ConfigureAwait(false)) ?? throw StyleNotFound(styleId);
    }

    private async ValueTask<IReadOnlyList<SpeechStyle?>> ReadStylesAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var read = await _store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
        return [.. read.Select(StyleOf)];
    }

    private static SpeechStyle? StyleOf(StateEntry? stored) => stored is null ? null : StyleRecord.Parser.ParseFrom(stored.Value.Span).Style;

    /// <summary>
    /// A transaction of the speech styles: requires the styles' revision read and moves it on,
    /// giving the change a number its event id never repeats.
    /// </summary>
    private static StateTransaction StylesChange(StateEntry? revisionRead, out long revision)
    {
        revision = RevisionAfter(revisionRead);
        return new StateTransaction().Require(StoreKeys.StylesRevision, revisionRead?.Version ?? 0).Increment(StoreKeys.StylesRevision);
    }

    /// <summary>A style as stored: checked, locale canonical, output-only fields cleared. INVALID_ARGUMENT naming the field otherwise.</summary>
    private static SpeechStyle NormalizeStyle(SpeechStyle source)
    {
        var style = source.Clone();
        style.Locale = CanonicalTag(source.Locale, "style.locale", allowDefault: true);
        style.Version = 0;
        style.CreateTime = null;
        style.UpdateTime = null;
        Errors.Require(style.DisplayName.Length <= MaxNameLength, $"style.display_name is at most {MaxNameLength} characters.");
        Errors.Require(style.Dialect.Length <= 64, "style.dialect is at most 64 characters.");
        Errors.Require(style.Description.Length <= MaxDescriptionLength, $"style.description is at most {MaxDescriptionLength} characters.");
        Errors.Require(style.PromptGuidance.Length <= 4000, "style.prompt_guidance is at most 4000 characters.");
        Errors.Require(System.Enum.IsDefined(style.Register), $"style.register {(int)style.Register} is not a SpeechRegister.");
        Errors.Require(!style.HasDefaultIntensity || style.DefaultIntensity is >= 0 and <= 1, $"style.default_intensity must be 0.0-1.0; got {style.DefaultIntensity}.");
        Errors.Require(style.ExampleLines.Count <= MaxExampleLines, $"style.example_lines holds at most {MaxExampleLines} lines; it has {style.ExampleLines.Count}.");
        Errors.Require(style.Rules.Count <= MaxRules, $"style.rules holds at most {MaxRules} rules; it has {style.Rules.Count}.");
        var problem = SpeechStyleEngine.Validate(style.Rules);
        Errors.Require(problem is null, $"style.{problem}.");
        return style;
    }

    private static SpeechStyle MergeStyle(SpeechStyle current, SpeechStyle changes, HashSet<string> paths)
    {
        var merged = current.Clone();
        foreach (var path in paths)
        {
            var field = SpeechStyle.Descriptor.FindFieldByName(path);
            if (field.IsRepeated)
            {
                var target = (System.Collections.IList)field.Accessor.GetValue(merged);
                target.Clear();
                foreach (var item in (System.Collections.IList)field.Accessor.GetValue(changes))
                {
                    target.Add(item);
                }
            }
            else if (field.HasPresence && !field.Accessor.HasValue(changes))
            {
                field.Accessor.Clear(merged);
            }
            else
            {
                field.Accessor.SetValue(merged, field.Accessor.GetValue(changes));
            }
        }

        return merged;
    }

    private static void ValidateStyleId(string styleId, string field) =>
        Errors.Require(StyleIdPattern().IsMatch(styleId), $"{field} must match [a-z0-9][a-z0-9-]{{0,62}} (e.g. 'dwarf-northern-gruff'); got '{styleId}'.");

    private static RpcException StyleNotFound(string styleId) =>
        Errors.NotFound($"Speech style '{styleId}' does not exist; ListSpeechStyles shows the styles and CreateSpeechStyle creates one.");

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex StyleIdPattern();
}

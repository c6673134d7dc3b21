using System.Text.RegularExpressions;
using GameSystem.LanguageSystem.V1;
using GameSystem.Services.LanguageSystem.Internal;
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
        return await _requests.RunAsync("CreateSpeechStyle", request.RequestId, request, CreateSpeechStyleResponse.Parser, async () =>
        {
            style.CreateTime = style.UpdateTime = Now();
            var result = await _store.SetAsync(StoreKeys.Style(style.StyleId), style.ToByteArray(), expectedVersion: 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                throw Errors.AlreadyExists($"Speech style '{style.StyleId}' already exists; use UpdateSpeechStyle to change it or choose another style_id.");
            }

            style.Version = result.Version;
            LogStyleChanged(_logger, style.StyleId, "created", style.Version);
            return new CreateSpeechStyleResponse { Style = style };
        }, cancellationToken).ConfigureAwait(false);
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
        var styles = await ReadAllAsync(StoreKeys.StylesPrefix, SpeechStyle.Parser, (s, version) => s.Version = version, context.CancellationToken).ConfigureAwait(false);
        var (page, next) = PageTokens.Take(
            styles
                .Where(s => (locale.Length == 0 || s.Locale == locale)
                    && (request.Dialect.Length == 0 || s.Dialect == request.Dialect)
                    && (request.Register == SpeechRegister.Unspecified || s.Register == request.Register)
                    && (after is null || string.CompareOrdinal(s.StyleId, after) > 0))
                .OrderBy(s => s.StyleId, StringComparer.Ordinal),
            pageSize,
            s => PageTokens.Encode(s.StyleId));
        var response = new ListSpeechStylesResponse { NextPageToken = next };
        response.Styles.AddRange(page);
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
        while (true)
        {
            var stored = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false) ?? throw StyleNotFound(request.Style.StyleId);
            Errors.CheckVersion($"Speech style '{request.Style.StyleId}'", request.ExpectedVersion, stored.Version);
            var current = SpeechStyle.Parser.ParseFrom(stored.Value.Span);
            var next = NormalizeStyle(MergeStyle(current, request.Style, paths));
            next.CreateTime = current.CreateTime;
            next.UpdateTime = current.UpdateTime;
            if (next.Equals(current))
            {
                current.Version = stored.Version;
                return new UpdateSpeechStyleResponse { Style = current };
            }

            next.UpdateTime = Now();
            var result = await _store.SetAsync(key, next.ToByteArray(), stored.Version, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                next.Version = result.Version;
                LogStyleChanged(_logger, next.StyleId, "updated", next.Version);
                return new UpdateSpeechStyleResponse { Style = next };
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask<DeleteSpeechStyleResponse> DeleteSpeechStyleAsync(DeleteSpeechStyleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateStyleId(request.StyleId, "style_id");
        var deletedVersion = await DeleteAtVersionAsync(
            StoreKeys.Style(request.StyleId), $"Speech style '{request.StyleId}'", request.ExpectedVersion, () => StyleNotFound(request.StyleId), context.CancellationToken).ConfigureAwait(false);
        LogStyleChanged(_logger, request.StyleId, "deleted", deletedVersion);
        return new DeleteSpeechStyleResponse();
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
        var (registry, _) = await ReadRegistryAsync(context.CancellationToken).ConfigureAwait(false);
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
        var stored = await _store.GetAsync(StoreKeys.Style(styleId), cancellationToken).ConfigureAwait(false) ?? throw StyleNotFound(styleId);
        var style = SpeechStyle.Parser.ParseFrom(stored.Value.Span);
        style.Version = stored.Version;
        return style;
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

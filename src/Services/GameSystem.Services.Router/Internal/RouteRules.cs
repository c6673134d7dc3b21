using System.Text.RegularExpressions;
using GameSystem.Router.V1;
using Google.Rpc;

namespace GameSystem.Services.Router.Internal;

/// <summary>
/// What makes a route valid (contract: Route, Backend, RouteMatch). Checks collect every
/// problem, each as a field violation naming the field by its path in the request
/// (<c>route.backends[1].target</c>), so one INVALID_ARGUMENT lists all that must be fixed.
/// </summary>
internal static partial class RouteRules
{
    public const int MaxBackends = 16;
    public const uint MaxWeight = 10_000;
    public const int MaxDescriptionLength = 1_000;
    public const int MaxUpdatedByLength = 200;
    public const int MaxTargetLength = 2_048;
    public const int MaxRpcMethodLength = 300;

    private static readonly string[] KnownMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

    /// <summary>True for a lower_kebab id of 1-63 characters (<c>quests-accept</c>).</summary>
    public static bool IsId(string value) => value.Length is > 0 and <= 63 && IdPattern().IsMatch(value);

    /// <summary>The problems of <paramref name="route"/> (its client-set fields), under <paramref name="field"/>.</summary>
    public static List<BadRequest.Types.FieldViolation> Check(Route route, string field)
    {
        var problems = new List<BadRequest.Types.FieldViolation>();
        if (!IsId(route.RouteId))
        {
            Add(problems, field + ".route_id", route.RouteId.Length == 0
                ? "is required: a lower_kebab id of 1-63 characters, e.g. 'quests-accept'"
                : $"'{route.RouteId}' is not a lower_kebab id of 1-63 characters (letters a-z, digits, single '-' between them), e.g. 'quests-accept'");
        }

        if (route.Description.Length > MaxDescriptionLength)
        {
            Add(problems, field + ".description", $"is at most {MaxDescriptionLength} characters; it has {route.Description.Length}");
        }

        if (route.UpdatedBy.Length > MaxUpdatedByLength)
        {
            Add(problems, field + ".updated_by", $"is at most {MaxUpdatedByLength} characters; it has {route.UpdatedBy.Length}");
        }

        CheckMatch(route.Match, field + ".match", problems);
        CheckBackends(route.Backends, route.Disabled, field + ".backends", problems);
        return problems;
    }

    /// <summary>The problems of a match: exactly one of HTTP (method optional, template) or rpc method.</summary>
    public static void CheckMatch(RouteMatch? match, string field, List<BadRequest.Types.FieldViolation> problems)
    {
        if (match is null || (match.HttpMethod.Length == 0 && match.PathTemplate.Length == 0 && match.RpcMethod.Length == 0))
        {
            Add(problems, field, "is required: set path_template (and optionally http_method), e.g. {\"http_method\":\"POST\",\"path_template\":\"/v1/players/*/quests:accept\"}, or rpc_method");
            return;
        }

        if (match.RpcMethod.Length > 0)
        {
            if (match.HttpMethod.Length > 0 || match.PathTemplate.Length > 0)
            {
                Add(problems, field + ".rpc_method", "cannot be combined with http_method or path_template: a route matches HTTP requests or rpc calls, not both");
            }
            else if (!IsRpcMethod(match.RpcMethod))
            {
                Add(problems, field + ".rpc_method", $"'{match.RpcMethod}' is not a full rpc method name such as 'gamesystem.quest_system.v1.QuestSystemService/AcceptQuest' (or '.../QuestSystemService/*' for every method)");
            }

            return;
        }

        if (match.PathTemplate.Length == 0)
        {
            Add(problems, field + ".path_template", "is required with http_method: the path the method applies to, e.g. '/v1/players/*/quests'");
        }
        else if (PathTemplate.Parse(match.PathTemplate, out var problem) is null)
        {
            Add(problems, field + ".path_template", $"'{match.PathTemplate}' {problem}");
        }

        if (match.HttpMethod.Length > 0 && !IsHttpMethod(match.HttpMethod))
        {
            Add(problems, field + ".http_method", $"'{match.HttpMethod}' is not an upper-case HTTP method such as {string.Join(", ", KnownMethods)}; leave it empty to match every method");
        }
    }

    /// <summary>The problems of a backend list; <paramref name="routeDisabled"/> routes may have no backend that takes traffic.</summary>
    public static void CheckBackends(IReadOnlyList<Backend> backends, bool routeDisabled, string field, List<BadRequest.Types.FieldViolation> problems)
    {
        if (backends.Count is 0 or > MaxBackends)
        {
            Add(problems, field, backends.Count == 0
                ? "is required: at least one backend, e.g. {\"backend_id\":\"legacy\",\"kind\":\"BACKEND_KIND_LEGACY_HTTP\",\"target\":\"http://legacy:8080\",\"weight\":100}"
                : $"has {backends.Count} backends; a route has at most {MaxBackends}");
            return;
        }

        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var destinations = new Dictionary<(BackendKind, string, string), int>();
        for (var i = 0; i < backends.Count; i++)
        {
            var backend = backends[i];
            var at = $"{field}[{i}]";
            if (!IsId(backend.BackendId))
            {
                Add(problems, at + ".backend_id", backend.BackendId.Length == 0
                    ? "is required: a lower_kebab id of 1-63 characters unique within the route, e.g. 'nats-v2'"
                    : $"'{backend.BackendId}' is not a lower_kebab id of 1-63 characters, e.g. 'nats-v2'");
            }
            else if (!ids.TryAdd(backend.BackendId, i))
            {
                Add(problems, at + ".backend_id", $"'{backend.BackendId}' is already the id of backends[{ids[backend.BackendId]}]; backend ids are unique within a route");
            }

            CheckTarget(backend, at, problems);
            if (backend.Version.Length > 0 && !VersionPattern().IsMatch(backend.Version))
            {
                Add(problems, at + ".version", $"'{backend.Version}' is not a semantic version such as '2.3.0' or '2.4.0-rc.1'; leave it empty for any version");
            }

            if (backend.Weight > MaxWeight)
            {
                Add(problems, at + ".weight", $"is {backend.Weight}; a weight is 0-{MaxWeight} (relative to the route's other backends)");
            }

            if (System.Enum.IsDefined(backend.Kind) && backend.Kind != BackendKind.Unspecified
                && !destinations.TryAdd((backend.Kind, backend.Target, backend.Version), i))
            {
                Add(problems, at, $"sends traffic where backends[{destinations[(backend.Kind, backend.Target, backend.Version)]}] does ({backend.Kind} '{backend.Target}'{(backend.Version.Length > 0 ? " version " + backend.Version : "")}); give the share to one backend");
            }
        }

        if (!routeDisabled && !backends.Any(BackendPicker.IsEligible))
        {
            Add(problems, field, "has no backend that takes traffic: at least one must be not disabled with weight > 0 (or disable the route)");
        }
    }

    /// <summary>True for an upper-case HTTP method token.</summary>
    public static bool IsHttpMethod(string method) => method.Length is > 0 and <= 20 && method.All(char.IsAsciiLetterUpper);

    /// <summary>True for <c>package.Service/Method</c> or <c>package.Service/*</c>.</summary>
    public static bool IsRpcMethod(string method) => method.Length <= MaxRpcMethodLength && RpcMethodPattern().IsMatch(method);

    /// <summary>True for an exact (non-wildcard) rpc method, as Resolve is asked about.</summary>
    public static bool IsExactRpcMethod(string method) => IsRpcMethod(method) && !method.EndsWith("/*", StringComparison.Ordinal);

    private static void CheckTarget(Backend backend, string at, List<BadRequest.Types.FieldViolation> problems)
    {
        switch (backend.Kind)
        {
            case BackendKind.LegacyHttp:
                if (backend.Target.Length > MaxTargetLength
                    || !Uri.TryCreate(backend.Target, UriKind.Absolute, out var uri)
                    || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                    || uri.Host.Length == 0
                    || uri.UserInfo.Length > 0
                    || uri.Query.Length > 0
                    || uri.Fragment.Length > 0)
                {
                    Add(problems, at + ".target", backend.Target.Length == 0
                        ? "is required: the base URL of the legacy HTTP backend, e.g. 'http://legacy:8080'"
                        : $"'{backend.Target}' is not an absolute http:// or https:// base URL without credentials, query or fragment, e.g. 'http://legacy:8080'");
                }

                break;
            case BackendKind.Nats:
                if (!IsId(backend.Target))
                {
                    Add(problems, at + ".target", backend.Target.Length == 0
                        ? "is required: the GameSystem service name that serves the route over NATS, e.g. 'quest-system'"
                        : $"'{backend.Target}' is not a GameSystem service name (lower_kebab, 1-63 characters), e.g. 'quest-system'");
                }

                break;
            default:
                Add(problems, at + ".kind", backend.Kind == BackendKind.Unspecified
                    ? "is required: BACKEND_KIND_LEGACY_HTTP or BACKEND_KIND_NATS"
                    : $"{(int)backend.Kind} is not a BackendKind; use BACKEND_KIND_LEGACY_HTTP or BACKEND_KIND_NATS");
                break;
        }
    }

    private static void Add(List<BadRequest.Types.FieldViolation> problems, string field, string description) =>
        problems.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });

    [GeneratedRegex("^[a-z][a-z0-9]*(-[a-z0-9]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/([A-Za-z_][A-Za-z0-9_]*|\*)$", RegexOptions.CultureInvariant)]
    private static partial Regex RpcMethodPattern();

    [GeneratedRegex(@"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPattern();
}

using System.Collections.Frozen;
using System.Collections.Immutable;
using GameSystem.Mesh;
using GameSystem.Routing;
using Google.Api;
using Google.Protobuf.Reflection;

namespace GameSystem.Gateway;

/// <summary>How a route takes its request body (the HttpRule's <c>body</c>).</summary>
internal enum BodyBinding
{
    /// <summary>No body: every field not in the path comes from the query string.</summary>
    None,

    /// <summary><c>body: "*"</c>: the body is the whole request message (path fields on top); no query parameters.</summary>
    Whole,

    /// <summary><c>body: "field"</c>: the body is that one field; other fields from the path and query.</summary>
    Field,
}

/// <summary>
/// One HTTP binding of an rpc (its <c>google.api.http</c> rule or one of its
/// <c>additional_bindings</c>), checked against the messages when the gateway starts.
/// </summary>
internal sealed class GatewayRoute
{
    private GatewayRoute(string httpMethod, PathTemplate template, MeshMethod method, ImmutableArray<FieldDescriptor[]> variables, BodyBinding body, FieldDescriptor? bodyField, FieldDescriptor? responseBody)
    {
        HttpMethod = httpMethod;
        Template = template;
        Method = method;
        Variables = variables;
        Body = body;
        BodyField = bodyField;
        ResponseBody = responseBody;
        PathFields = variables.Select(v => v[^1]).ToFrozenSet();
    }

    /// <summary>The HTTP method, upper case (<c>GET</c>, … or the rule's custom kind).</summary>
    public string HttpMethod { get; }

    /// <summary>The path template.</summary>
    public PathTemplate Template { get; }

    /// <summary>The rpc the route calls.</summary>
    public MeshMethod Method { get; }

    /// <summary>For each template variable, the request fields from the top message to the bound one.</summary>
    public ImmutableArray<FieldDescriptor[]> Variables { get; }

    /// <summary>The fields the path binds (query parameters may not set them).</summary>
    public FrozenSet<FieldDescriptor> PathFields { get; }

    /// <summary>How the body is bound.</summary>
    public BodyBinding Body { get; }

    /// <summary>The top-level request field the body is, for <see cref="BodyBinding.Field"/>.</summary>
    public FieldDescriptor? BodyField { get; }

    /// <summary>The response field written as the HTTP body instead of the whole response (<c>response_body</c>).</summary>
    public FieldDescriptor? ResponseBody { get; }

    /// <summary>How start-up messages name the route: <c>GET /v1/worlds/{world_id}/clock (gamesystem.time_manager.v1.TimeManagerService/GetClock)</c>.</summary>
    public string Declaration => $"{HttpMethod} {Template.Text} ({Method.Path.TrimStart('/')})";

    /// <summary>Every binding of <paramref name="method"/>'s rule; none when it has no <c>google.api.http</c> rule.</summary>
    /// <exception cref="InvalidOperationException">The rule does not fit the messages: the message names the rpc and why.</exception>
    public static IEnumerable<GatewayRoute> FromRule(MeshMethod method)
    {
        if (method.Http is not { } rule)
        {
            yield break;
        }

        yield return FromBinding(method, rule);
        foreach (var additional in rule.AdditionalBindings)
        {
            if (additional.AdditionalBindings.Count > 0)
            {
                throw Invalid(method, "nests additional_bindings inside additional_bindings, which the HttpRule specification forbids");
            }

            yield return FromBinding(method, additional);
        }
    }

    private static GatewayRoute FromBinding(MeshMethod method, HttpRule rule)
    {
        var (verb, text) = rule.PatternCase switch
        {
            HttpRule.PatternOneofCase.Get => ("GET", rule.Get),
            HttpRule.PatternOneofCase.Put => ("PUT", rule.Put),
            HttpRule.PatternOneofCase.Post => ("POST", rule.Post),
            HttpRule.PatternOneofCase.Delete => ("DELETE", rule.Delete),
            HttpRule.PatternOneofCase.Patch => ("PATCH", rule.Patch),
            HttpRule.PatternOneofCase.Custom => (rule.Custom.Kind.ToUpperInvariant(), rule.Custom.Path),
            _ => throw Invalid(method, "has a google.api.http rule without a pattern (get, put, post, delete, patch or custom)"),
        };
        var template = PathTemplate.Parse(text, out var problem) ?? throw Invalid(method, $"has the path template '{text}', which {problem}");
        var input = method.Descriptor.InputType;
        var variables = template.Variables.Select(v => ResolvePath(method, input, v.FieldPath, $"the path variable '{{{v.FieldPath}}}'")).ToImmutableArray();
        foreach (var path in variables)
        {
            var leaf = path[^1];
            if (leaf.IsRepeated || leaf.IsMap || leaf.FieldType is FieldType.Message or FieldType.Group or FieldType.Bytes)
            {
                throw Invalid(method, $"binds the path variable '{{{string.Join('.', path.Select(f => f.Name))}}}' to a field that is not a single string, number, bool or enum");
            }
        }

        var (body, bodyField) = rule.Body switch
        {
            "" => (BodyBinding.None, null),
            "*" => (BodyBinding.Whole, null),
            var name => (BodyBinding.Field, input.FindFieldByName(name) ?? throw Invalid(method, $"names the body field '{name}', which {input.FullName} does not have")),
        };
        if (body != BodyBinding.None && verb is "GET" or "DELETE" && rule.PatternCase != HttpRule.PatternOneofCase.Custom)
        {
            // The specification allows it for DELETE, but proxies and browsers drop such bodies.
            throw Invalid(method, $"takes a body on {verb}, which HTTP clients and proxies do not reliably send");
        }

        FieldDescriptor? responseBody = null;
        if (rule.ResponseBody.Length > 0)
        {
            responseBody = method.Descriptor.OutputType.FindFieldByName(rule.ResponseBody)
                ?? throw Invalid(method, $"names the response_body field '{rule.ResponseBody}', which {method.Descriptor.OutputType.FullName} does not have");
        }

        return new GatewayRoute(verb, template, method, variables, body, bodyField, responseBody);
    }

    /// <summary>The fields along a dotted path of proto field names; every step before the last is a singular message field.</summary>
    private static FieldDescriptor[] ResolvePath(MeshMethod method, MessageDescriptor message, string dotted, string what) =>
        RequestBinder.ResolveFieldPath(message, dotted, jsonNames: false, out var problem) ?? throw Invalid(method, $"has {what}, but {problem}");

    private static InvalidOperationException Invalid(MeshMethod method, string problem) =>
        new($"{method.Path.TrimStart('/')} {problem}.");
}

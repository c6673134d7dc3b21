using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using GameSystem.Mesh.Contracts.V1;
using GameSystem.Routing;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.OpenApi;

namespace GameSystem.Gateway.OpenApi;

/// <summary>
/// The OpenAPI 3.1 document of the gateway, made from its route table and the contracts'
/// descriptors (never a list of routes kept by hand): one operation per route, its path, query
/// and body parameters as the gateway binds them, its answers in proto3 JSON, its errors as
/// <c>google.rpc.Status</c>, and the access rule the gateway enforces as its security.
/// </summary>
internal static class OpenApiDocumentBuilder
{
    /// <summary>The security scheme's name: an <c>Authorization: Bearer</c> access token (a JWT from auth's Login).</summary>
    public const string BearerScheme = "bearerAuth";

    /// <summary>The extension listing the scopes a method's token must hold.</summary>
    public const string ScopesExtension = "x-required-scopes";

    private const string StatusSchema = "google.rpc.Status";
    private const string JsonMedia = "application/json";

    /// <summary>Builds the document for <paramref name="routes"/>.</summary>
    public static OpenApiDocument Build(GatewayRouteTable routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var document = new OpenApiDocument
        {
            Info = new OpenApiInfo
            {
                Title = "GameSystem API",
                Version = typeof(OpenApiDocumentBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
                Description = "The HTTP/JSON gateway of GameSystem, generated from the contracts' google.api.http rules. Bodies are proto3 JSON: "
                    + "lowerCamel field names (proto names are accepted in requests too), enums by name, 64-bit integers as strings. "
                    + "Errors are google.rpc.Status objects {code, message, details}. Optional headers: Grpc-Timeout (e.g. '1500m') or X-Request-Timeout (seconds); Grpc-Metadata-<key> carries call metadata.",
            },
            Paths = [],
            Components = new OpenApiComponents(),
        };
        var schemas = new ProtoSchemas(document);
        var status = schemas.Message(Google.Rpc.Status.Descriptor);
        document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal)
        {
            [BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "An access token from POST /v1/auth:login, sent as 'Authorization: Bearer <token>'.",
            },
        };
        document.Components.Responses = ErrorResponses(status);

        var paths = OpenApiPaths(routes.Routes);
        var operationIds = new HashSet<string>(StringComparer.Ordinal);
        var tags = new Dictionary<string, OpenApiTag>(StringComparer.Ordinal);
        foreach (var route in routes.Routes)
        {
            var service = route.Method.Descriptor.Service;
            if (!tags.ContainsKey(service.Name))
            {
                tags.Add(service.Name, new OpenApiTag { Name = service.Name, Description = Comments.Of(service.Declaration) ?? service.FullName });
            }

            var (path, parameters) = paths[route];
            var operation = Operation(document, schemas, route, parameters, operationIds);
            operation.Tags = new HashSet<OpenApiTagReference> { new(service.Name, document) };
            if (!document.Paths.TryGetValue(path, out var item))
            {
                item = new OpenApiPathItem();
                document.Paths.Add(path, item);
            }

            ((OpenApiPathItem)item).AddOperation(new HttpMethod(route.HttpMethod), operation);
        }

        document.Tags = new HashSet<OpenApiTag>(tags.Values);
        document.Components.Schemas = new SortedDictionary<string, IOpenApiSchema>(schemas.Components.ToDictionary(), StringComparer.Ordinal);
        return document;
    }

    /// <summary>The document as OpenAPI 3.1 JSON.</summary>
    public static string ToJson(OpenApiDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        document.SerializeAsV31(new OpenApiJsonWriter(text));
        return text.ToString();
    }

    private static OpenApiOperation Operation(OpenApiDocument document, ProtoSchemas schemas, GatewayRoute route, List<OpenApiParameter> pathParameters, HashSet<string> operationIds)
    {
        var method = route.Method;
        var descriptor = method.Descriptor;
        var id = $"{descriptor.Service.Name}_{descriptor.Name}";
        for (var n = 2; !operationIds.Add(id); n++)
        {
            // additional_bindings: one rpc, several routes.
            id = $"{descriptor.Service.Name}_{descriptor.Name}_{n}";
        }

        var comment = Comments.Of(descriptor.Declaration);
        var needsToken = method.Access != MeshAccess.Public || !method.RequiredScopes.IsEmpty;
        var description = new StringBuilder();
        if (comment is not null)
        {
            description.Append(comment).Append("\n\n");
        }

        description.Append(CultureInfo.InvariantCulture, $"Calls the rpc `{method.Path.TrimStart('/')}`");
        description.Append(method.Type == MethodType.ServerStreaming ? " (server streaming). " : ". ");
        description.Append(method.Access switch
        {
            MeshAccess.Public => "Public: no token needed",
            MeshAccess.Internal => "Internal: only service accounts' tokens are accepted",
            _ => "Needs an access token",
        });
        description.Append(method.RequiredScopes.IsEmpty ? "." : $"; the token must hold the scopes {string.Join(", ", method.RequiredScopes.Select(s => "`" + s + "`"))}.");
        if (method.DefaultTimeout is { } timeout)
        {
            description.Append(CultureInfo.InvariantCulture, $" Default timeout {timeout.TotalSeconds:0.###} s.");
        }

        var operation = new OpenApiOperation
        {
            OperationId = id,
            Summary = comment is null ? descriptor.Name : FirstSentence(comment),
            Description = description.ToString(),
            Parameters = [.. pathParameters, .. QueryParameters(route)],
            Responses = Responses(document, schemas, route, needsToken),
            Extensions = new Dictionary<string, IOpenApiExtension>(StringComparer.Ordinal)
            {
                ["x-grpc-method"] = new JsonNodeExtension(JsonValue.Create(method.Path)),
                ["x-mesh-access"] = new JsonNodeExtension(JsonValue.Create(method.Access.ToString().ToLowerInvariant())),
            },
        };
        if (!method.RequiredScopes.IsEmpty)
        {
            operation.Extensions[ScopesExtension] = new JsonNodeExtension(new JsonArray([.. method.RequiredScopes.Select(s => (JsonNode)JsonValue.Create(s))]));
        }

        // OpenAPI 3.1 lets a non-OAuth requirement list roles: the scopes the gateway checks.
        operation.Security = needsToken
            ? [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [.. method.RequiredScopes] }]
            : [];

        if (route.Body != BodyBinding.None)
        {
            var schema = route.Body == BodyBinding.Whole ? schemas.Message(descriptor.InputType) : schemas.Field(route.BodyField!);
            operation.RequestBody = new OpenApiRequestBody
            {
                Description = route.Body == BodyBinding.Whole
                    ? $"The request, {descriptor.InputType.FullName}; fields in the path are taken from the path."
                    : $"The request's field '{route.BodyField!.Name}'.",
                Content = new Dictionary<string, IOpenApiMediaType>(StringComparer.Ordinal) { [JsonMedia] = new OpenApiMediaType { Schema = schema } },
            };
        }

        return operation;
    }

    private static OpenApiResponses Responses(OpenApiDocument document, ProtoSchemas schemas, GatewayRoute route, bool needsToken)
    {
        var output = route.Method.Descriptor.OutputType;
        var item = route.ResponseBody is { } field ? schemas.Field(field) : schemas.Message(output);
        var what = route.ResponseBody is { } body ? $"the field '{body.JsonName}' of {output.FullName}" : output.FullName;
        var responses = new OpenApiResponses();
        if (route.Method.Type == MethodType.ServerStreaming)
        {
            var line = new OpenApiSchema
            {
                OneOf =
                [
                    item,
                    new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal) { ["error"] = new OpenApiSchemaReference(StatusSchema, document) },
                        Required = new HashSet<string>(StringComparer.Ordinal) { "error" },
                        Description = "The stream failed after it started: the last line.",
                    },
                ],
            };
            responses["200"] = new OpenApiResponse
            {
                Description = $"A stream of {what}, each message flushed as it comes. An error before the first message is an ordinary error response.",
                Content = new Dictionary<string, IOpenApiMediaType>(StringComparer.Ordinal)
                {
                    ["text/event-stream"] = new OpenApiMediaType
                    {
                        Schema = new OpenApiSchema
                        {
                            Type = JsonSchemaType.String,
                            Description = $"Server-Sent Events (send 'Accept: text/event-stream'): each 'message' event's data is one {what} in JSON; "
                                + "an 'error' event's data is a google.rpc.Status (the stream failed); an 'end' event with data {} ends it on purpose.",
                            ContentMediaType = "text/event-stream",
                        },
                    },
                    ["application/x-ndjson"] = new OpenApiMediaType { Schema = line },
                },
            };
        }
        else
        {
            responses["200"] = new OpenApiResponse
            {
                Description = $"OK: {what}.",
                Content = new Dictionary<string, IOpenApiMediaType>(StringComparer.Ordinal) { [JsonMedia] = new OpenApiMediaType { Schema = item } },
            };
        }

        responses["400"] = new OpenApiResponseReference("BadRequest", document);
        if (needsToken)
        {
            responses["401"] = new OpenApiResponseReference("Unauthenticated", document);
            responses["403"] = new OpenApiResponseReference("PermissionDenied", document);
        }

        responses["404"] = new OpenApiResponseReference("NotFound", document);
        responses["4XX"] = new OpenApiResponseReference("Error", document);
        responses["5XX"] = new OpenApiResponseReference("Error", document);
        responses["default"] = new OpenApiResponseReference("Error", document);
        return responses;
    }

    private static Dictionary<string, IOpenApiResponse> ErrorResponses(IOpenApiSchema status)
    {
        OpenApiResponse Error(string description, Dictionary<string, IOpenApiHeader>? headers = null) => new()
        {
            Description = description,
            Headers = headers,
            Content = new Dictionary<string, IOpenApiMediaType>(StringComparer.Ordinal) { [JsonMedia] = new OpenApiMediaType { Schema = status } },
        };

        Dictionary<string, IOpenApiHeader> Challenge() => new(StringComparer.Ordinal)
        {
            ["WWW-Authenticate"] = new OpenApiHeader
            {
                Description = "The Bearer challenge (RFC 6750), with error=\"invalid_token\" or \"insufficient_scope\" and the missing scope when that is why.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            },
        };

        return new Dictionary<string, IOpenApiResponse>(StringComparer.Ordinal)
        {
            ["BadRequest"] = Error($"INVALID_ARGUMENT ({(int)StatusCode.InvalidArgument}), FAILED_PRECONDITION or OUT_OF_RANGE: the request could not be bound or was refused; a google.rpc.BadRequest detail names the field."),
            ["Unauthenticated"] = Error($"UNAUTHENTICATED ({(int)StatusCode.Unauthenticated}): no access token, or one that was rejected.", Challenge()),
            ["PermissionDenied"] = Error($"PERMISSION_DENIED ({(int)StatusCode.PermissionDenied}): the token lacks a required scope, or the caller may not do this.", Challenge()),
            ["NotFound"] = Error($"NOT_FOUND ({(int)StatusCode.NotFound})."),
            ["Error"] = Error("An error, mapped from its gRPC code as grpc-gateway maps them. INTERNAL, UNKNOWN, DATA_LOSS and UNAVAILABLE carry a fixed message with an error id instead of the service's text."),
        };
    }

    /// <summary>
    /// The OpenAPI path of each route and its path parameters. A variable becomes one parameter
    /// named by its field path (<c>{account.account_id}</c>, <c>{name}</c> for
    /// <c>{name=players/*/checkpoints/*}</c>). Where two different templates would then give
    /// one OpenAPI path (which OpenAPI forbids), their multi-segment variables are spelled out,
    /// each wildcard a parameter of its own.
    /// </summary>
    private static Dictionary<GatewayRoute, (string Path, List<OpenApiParameter> Parameters)> OpenApiPaths(IReadOnlyList<GatewayRoute> routes)
    {
        var compact = routes.ToDictionary(r => r, r => Convert(r, expand: false));
        var clashing = compact
            .GroupBy(p => Shape(p.Value.Path), StringComparer.Ordinal)
            .Where(g => g.Select(p => p.Key.Template.Pattern).Distinct(StringComparer.Ordinal).Count() > 1)
            .SelectMany(g => g.Select(p => p.Key))
            .ToHashSet();
        foreach (var route in clashing)
        {
            compact[route] = Convert(route, expand: true);
        }

        return compact;
    }

    // Paths that differ only in parameter names are the same path to OpenAPI.
    private static string Shape(string path) => System.Text.RegularExpressions.Regex.Replace(path, "\\{[^}]*\\}", "{}");

    private static (string Path, List<OpenApiParameter> Parameters) Convert(GatewayRoute route, bool expand)
    {
        var template = route.Template;
        var parameters = new List<OpenApiParameter>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var path = new StringBuilder();
        var anonymous = 0;
        var restTaken = false;
        for (var index = 0; index <= template.Segments.Length; index++)
        {
            var at = template.Variables.IndexOf(template.Variables.FirstOrDefault(v => v.FirstSegment == index && (v.SegmentCount > 0 || index == template.Segments.Length)));
            if (at >= 0 && (template.Variables[at].SegmentCount > 0 || index == template.Segments.Length))
            {
                var variable = template.Variables[at];
                var leaf = route.Variables[at][^1];
                var pattern = VariablePattern(template, variable);
                restTaken |= variable.EndsWithRest;
                if (variable.IsSingleSegment || !expand)
                {
                    names.Add(variable.FieldPath);
                    path.Append("/{").Append(variable.FieldPath).Append('}');
                    parameters.Add(PathParameter(variable.FieldPath, leaf, variable.IsSingleSegment
                        ? null
                        : $"The whole of '{variable.FieldPath}', which matches {pattern}: its '/' are sent unencoded (e.g. {Example(pattern)})."));
                }
                else
                {
                    for (var i = variable.FirstSegment; i < variable.FirstSegment + variable.SegmentCount; i++)
                    {
                        if (template.Segments[i] is { } literal)
                        {
                            path.Append('/').Append(literal);
                            continue;
                        }

                        var before = i > 0 ? template.Segments[i - 1] : null;
                        var name = Unique(names, $"{variable.FieldPath}_{before ?? (i - variable.FirstSegment + 1).ToString(CultureInfo.InvariantCulture)}");
                        path.Append("/{").Append(name).Append('}');
                        parameters.Add(PathParameter(name, leaf, $"One segment of '{variable.FieldPath}', which the gateway binds whole ({pattern})."));
                    }

                    if (variable.EndsWithRest)
                    {
                        var name = Unique(names, $"{variable.FieldPath}_rest");
                        path.Append("/{").Append(name).Append('}');
                        parameters.Add(PathParameter(name, leaf, $"The rest of '{variable.FieldPath}' ({pattern}), its '/' unencoded."));
                    }
                }

                index += Math.Max(variable.SegmentCount, 1) - 1;
                continue;
            }

            if (index == template.Segments.Length)
            {
                if (template.EndsWithRest && !restTaken)
                {
                    // A '**' bound to no field: it takes any rest of the path, and binds nothing.
                    var name = Unique(names, $"rest_{++anonymous}");
                    path.Append("/{").Append(name).Append('}');
                    parameters.Add(AnonymousParameter(name, "The rest of the path, any segments, its '/' unencoded; bound to no field."));
                }

                break;
            }

            if (template.Segments[index] is { } segment)
            {
                path.Append('/').Append(segment);
            }
            else
            {
                var name = Unique(names, $"segment_{++anonymous}");
                path.Append("/{").Append(name).Append('}');
                parameters.Add(AnonymousParameter(name, "Any one segment; bound to no field."));
            }
        }

        if (path.Length == 0)
        {
            path.Append('/');
        }

        if (template.Verb.Length > 0)
        {
            path.Append(':').Append(template.Verb);
        }

        return (path.ToString(), parameters);
    }

    private static string VariablePattern(PathTemplate template, PathVariable variable)
    {
        var parts = template.Segments.Skip(variable.FirstSegment).Take(variable.SegmentCount).Select(s => s ?? "*");
        return string.Join('/', variable.EndsWithRest ? parts.Append("**") : parts);
    }

    private static string Example(string pattern)
    {
        var n = 0;
        return string.Join('/', pattern.Split('/').Select(s => s switch { "*" => "id" + ++n, "**" => "a/b", _ => s }));
    }

    private static string Unique(HashSet<string> names, string name)
    {
        var candidate = name;
        for (var n = 2; !names.Add(candidate); n++)
        {
            candidate = name + "_" + n.ToString(CultureInfo.InvariantCulture);
        }

        return candidate;
    }

    private static OpenApiParameter PathParameter(string name, FieldDescriptor leaf, string? note) => new()
    {
        Name = name,
        In = ParameterLocation.Path,
        Required = true,
        Description = JoinText(Comments.Of(leaf.Declaration), note),
        Schema = leaf.FieldType == FieldType.Enum ? EnumInline(leaf.EnumType) : ProtoSchemas.Scalar(leaf.FieldType),
    };

    private static OpenApiParameter AnonymousParameter(string name, string description) => new()
    {
        Name = name,
        In = ParameterLocation.Path,
        Required = true,
        Description = description,
        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
    };

    /// <summary>
    /// The query parameters of a route: every field the path and body leave, as the gateway
    /// binds them (dotted lowerCamel paths into singular messages; repeated fields repeat the
    /// parameter; maps and other messages cannot be set from the query).
    /// </summary>
    private static IEnumerable<OpenApiParameter> QueryParameters(GatewayRoute route)
    {
        if (route.Body == BodyBinding.Whole)
        {
            yield break;
        }

        var input = route.Method.Descriptor.InputType;
        var stack = new Stack<MessageDescriptor>();
        foreach (var parameter in Walk(route, input, "", "", stack, top: true))
        {
            yield return parameter;
        }
    }

    private static IEnumerable<OpenApiParameter> Walk(GatewayRoute route, MessageDescriptor message, string jsonPrefix, string protoPrefix, Stack<MessageDescriptor> stack, bool top)
    {
        stack.Push(message);
        foreach (var field in message.Fields.InDeclarationOrder())
        {
            if (route.PathFields.Contains(field) || (top && field == route.BodyField) || field.IsMap)
            {
                continue;
            }

            var json = jsonPrefix + field.JsonName;
            var proto = protoPrefix + field.Name;
            OpenApiSchema? value = field.FieldType switch
            {
                FieldType.Message or FieldType.Group => RequestBinder.IsWellKnownScalar(field.MessageType) ? ProtoSchemas.WellKnownScalar(field.MessageType) : null,
                FieldType.Enum when field.EnumType.FullName == "google.protobuf.NullValue" => null,
                FieldType.Enum => EnumInline(field.EnumType),
                var type => ProtoSchemas.Scalar(type),
            };
            if (value is null)
            {
                // A message: its fields one by one (never into one already being walked, nor a well-known non-scalar).
                if (field.FieldType == FieldType.Message && !field.IsRepeated && !field.MessageType.FullName.StartsWith("google.protobuf.", StringComparison.Ordinal) && !stack.Contains(field.MessageType))
                {
                    foreach (var nested in Walk(route, field.MessageType, json + ".", proto + ".", stack, top: false))
                    {
                        yield return nested;
                    }
                }

                continue;
            }

            var required = top && route.Method.RequiredFields.Contains(field);
            yield return new OpenApiParameter
            {
                Name = json,
                In = ParameterLocation.Query,
                Required = required,
                Description = JoinText(Comments.Of(field.Declaration), json == proto ? null : $"Also accepted as '{proto}'."),
                Schema = field.IsRepeated ? new OpenApiSchema { Type = JsonSchemaType.Array, Items = value } : value,
                // form, exploded: a repeated field repeats the parameter (?tag=a&tag=b).
                Style = ParameterStyle.Form,
                Explode = true,
            };
        }

        stack.Pop();
    }

    private static OpenApiSchema EnumInline(EnumDescriptor type) => new()
    {
        Type = JsonSchemaType.String,
        Enum = [.. type.Values.Select(v => (JsonNode)JsonValue.Create(v.Name))],
    };

    private static string FirstSentence(string comment)
    {
        var line = comment.Split('\n')[0].Trim();
        var stop = line.IndexOf(". ", StringComparison.Ordinal);
        return stop > 0 ? line[..(stop + 1)] : line;
    }

    private static string? JoinText(string? first, string? second) =>
        first is null ? second : second is null ? first : first + " " + second;
}

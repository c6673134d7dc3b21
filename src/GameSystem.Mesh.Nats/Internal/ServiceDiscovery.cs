using System.Buffers;
using System.Globalization;
using System.Text.Json;
using GameSystem.Mesh.Contracts.V1;
using NATS.Client.Core;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// Answers the NATS Services API (ADR-32) for one service instance: <c>$SRV.PING</c>,
/// <c>$SRV.INFO</c> and <c>$SRV.STATS</c>, each for all services, by name and by id, so
/// that <c>nats micro ls</c> and any ADR-32 client list the mesh. Every answer is written when
/// asked, so its metadata carries the service's health as of the latest health round.
/// </summary>
internal sealed class ServiceDiscovery : IAsyncDisposable
{
    private readonly ServiceRunner _runner;
    private readonly string _version;
    private readonly Func<MeshHealthService?> _health;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private readonly List<INatsSub<NatsMemoryOwner<byte>>> _subscriptions = [];
    private readonly List<Task> _loops = [];

    public ServiceDiscovery(ServiceRunner runner, string instanceId, string version, Func<MeshHealthService?> health)
    {
        _runner = runner;
        _version = version;
        _health = health;
        InstanceId = instanceId;
        Name = runner.Definition.Name;
    }

    public string Name { get; }

    public string InstanceId { get; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var verb in new[] { "PING", "INFO", "STATS" })
        {
            foreach (var subject in new[] { $"$SRV.{verb}", $"$SRV.{verb}.{Name}", $"$SRV.{verb}.{Name}.{InstanceId}" })
            {
                var sub = await _runner.Connection.SubscribeCoreAsync(subject, serializer: RawPayload.Deserializer, cancellationToken: cancellationToken).ConfigureAwait(false);
                _subscriptions.Add(sub);
                _loops.Add(AnswerAsync(sub, verb));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var sub in _subscriptions)
        {
            await sub.DisposeAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(_loops).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task AnswerAsync(INatsSub<NatsMemoryOwner<byte>> sub, string verb)
    {
        await foreach (var msg in sub.Msgs.ReadAllAsync().ConfigureAwait(false))
        {
            msg.Data.Dispose();
            if (string.IsNullOrEmpty(msg.ReplyTo))
            {
                continue;
            }

            var body = new ArrayBufferWriter<byte>(1024);
            using (var json = new Utf8JsonWriter(body))
            {
                switch (verb)
                {
                    case "PING":
                        WriteIdentity(json, "io.nats.micro.v1.ping_response");
                        break;
                    case "INFO":
                        WriteInfo(json);
                        break;
                    default:
                        WriteStats(json);
                        break;
                }

                json.WriteEndObject();
            }

            try
            {
                await _runner.Connection.PublishAsync(msg.ReplyTo, body.WrittenMemory.ToArray(), serializer: BytesSerializer.Instance).ConfigureAwait(false);
            }
            catch (NatsException ex)
            {
                Log.ReplyFailed(_runner.Logger, ex, $"$SRV.{verb}");
            }
        }
    }

    private void WriteIdentity(Utf8JsonWriter json, string type)
    {
        json.WriteStartObject();
        json.WriteString("type", type);
        json.WriteString("name", Name);
        json.WriteString("id", InstanceId);
        json.WriteString("version", _version);
        json.WriteStartObject("metadata");
        json.WriteString("proto_service", _runner.Definition.FullName);
        json.WriteString("proto_file", _runner.Definition.Descriptor.File.Name);
        json.WriteString("implemented", _runner.Definition.IsImplemented ? "true" : "false");
        WriteHealth(json);
        json.WriteEndObject();
    }

    /// <summary>The service's status in the latest health round (the host's for grpc.health.v1.Health itself), and why when it is not serving.</summary>
    private void WriteHealth(Utf8JsonWriter json)
    {
        if (_health() is not { } health)
        {
            return;
        }

        var report = health.Report;
        var status = report.Overall;
        IEnumerable<string> reasons;
        if (report.Services.TryGetValue(_runner.Definition.FullName, out var service))
        {
            status = service.Status;
            reasons = service.Failures;
        }
        else
        {
            reasons = report.Stopping
                ? ["the host is stopping"]
                : report.Services.Values.Where(s => s.IsImplemented).SelectMany(s => s.Failures).Distinct(StringComparer.Ordinal);
        }

        json.WriteString("health", status switch
        {
            ServingStatus.Serving => "SERVING",
            ServingStatus.NotServing => "NOT_SERVING",
            _ => "UNKNOWN",
        });
        if (report.CheckedAt is { } checkedAt)
        {
            json.WriteString("health_checked_at", checkedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        }

        if (status != ServingStatus.Serving)
        {
            var reason = string.Join("; ", reasons);
            json.WriteString("health_reason", reason.Length == 0 ? "not serving" : reason);
        }
    }

    private void WriteInfo(Utf8JsonWriter json)
    {
        WriteIdentity(json, "io.nats.micro.v1.info_response");
        json.WriteString("description", $"GameSystem mesh service {_runner.Definition.FullName}");
        json.WriteStartArray("endpoints");
        foreach (var method in _runner.Definition.Descriptor.Methods)
        {
            var handler = _runner.FindHandler(method.Name);
            json.WriteStartObject();
            json.WriteString("name", method.Name);
            json.WriteString("subject", $"{_runner.SubjectPrefix}.{method.Service.FullName}.{method.Name}");
            json.WriteString("queue_group", _runner.QueueGroup);
            json.WriteStartObject("metadata");
            json.WriteString("rpc", $"/{method.Service.FullName}/{method.Name}");
            json.WriteString("request_type", method.InputType.FullName);
            json.WriteString("response_type", method.OutputType.FullName);
            json.WriteString("streaming", method.IsServerStreaming ? "server" : method.IsClientStreaming ? "client" : "unary");
            json.WriteString("idempotency", method.GetOptions()?.IdempotencyLevel switch
            {
                Google.Protobuf.Reflection.MethodOptions.Types.IdempotencyLevel.NoSideEffects => "NO_SIDE_EFFECTS",
                Google.Protobuf.Reflection.MethodOptions.Types.IdempotencyLevel.Idempotent => "IDEMPOTENT",
                _ => "IDEMPOTENCY_UNKNOWN",
            });
            if (handler?.Method.DefaultTimeout is { } timeout)
            {
                json.WriteString("default_timeout_ms", ((long)timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
            }

            if (handler?.Method is { } meshMethod)
            {
                json.WriteString("access", meshMethod.Access switch
                {
                    MeshAccess.Public => "public",
                    MeshAccess.Internal => "internal",
                    _ => "authenticated",
                });
                if (meshMethod.RequiredScopes.Length > 0)
                {
                    json.WriteString("required_scopes", string.Join(' ', meshMethod.RequiredScopes));
                }
            }

            json.WriteString("implemented", handler is null ? "false" : "true");
            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private void WriteStats(Utf8JsonWriter json)
    {
        WriteIdentity(json, "io.nats.micro.v1.stats_response");
        json.WriteString("started", _started.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
        json.WriteStartArray("endpoints");
        foreach (var handler in _runner.Handlers)
        {
            var stats = handler.Stats;
            var requests = stats.Requests;
            var total = stats.ProcessingNanoseconds;
            json.WriteStartObject();
            json.WriteString("name", handler.Method.Name);
            json.WriteString("subject", handler.Subject);
            json.WriteString("queue_group", _runner.QueueGroup);
            json.WriteNumber("num_requests", requests);
            json.WriteNumber("num_errors", stats.Errors);
            json.WriteString("last_error", stats.LastError);
            json.WriteNumber("processing_time", total);
            json.WriteNumber("average_processing_time", requests == 0 ? 0 : total / requests);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}

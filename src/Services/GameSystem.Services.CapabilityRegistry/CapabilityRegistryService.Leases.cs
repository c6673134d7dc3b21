using System.Security.Cryptography;
using GameSystem.CapabilityRegistry.V1;
using GameSystem.Mesh;
using GameSystem.Services.CapabilityRegistry.Internal;
using GameSystem.State;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.CapabilityRegistry;

/// <summary>Register, Heartbeat and Deregister: the lease of each instance.</summary>
public sealed partial class CapabilityRegistryService
{
    /// <inheritdoc/>
    public async ValueTask<RegisterResponse> RegisterAsync(RegisterRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireService(context.GetPrincipal(), "Register");
        var violations = new Violations();
        InstanceRules.Check(request.Instance, "instance", _options.MinTtl, _options.MaxTtl, violations);
        violations.ThrowIfAny();

        var ttl = request.Instance.Ttl?.ToTimeSpan() ?? _options.DefaultTtl;
        var instanceId = request.Instance.InstanceId;
        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var registration = await Registration.ReadAsync(_store, instanceId, _time, cancellationToken).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            var stamp = Timestamp.FromDateTimeOffset(now);
            var instance = InstanceRules.Input(request.Instance, ttl);
            instance.LeaseId = NewLeaseId();
            instance.RegisterTime = stamp;
            instance.LastHeartbeatTime = stamp;
            instance.ExpireTime = Timestamp.FromDateTimeOffset(now + ttl);

            // What the previous registration offered and this one does not: its watchers see it leave.
            var removed = registration.Last?.Capabilities
                .Where(old => !instance.Capabilities.Any(c => c.Name == old.Name && c.Version == old.Version))
                .ToList();

            var transaction = new StateTransaction();
            registration.Write(transaction, instance);
            Registration.ReplaceMembers(transaction, registration.Last, instance);
            _events.Publish(transaction, ChangeEvents.InstanceChanged(ProviderChangeType.Registered, instance, registration.LastVersion, stamp, removed));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogRegistered(_logger, instanceId, instance.ServiceName, instance.Capabilities.Count, ttl.TotalSeconds);
                return new RegisterResponse { Instance = instance, HeartbeatInterval = Duration.FromTimeSpan(ttl / 3) };
            }

            // Another Register, Heartbeat or expiry of this id got there first: read again and replace what it wrote.
        }

        throw Errors.Contended(instanceId);
    }

    /// <inheritdoc/>
    public async ValueTask<HeartbeatResponse> HeartbeatAsync(HeartbeatRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireService(context.GetPrincipal(), "Heartbeat");
        var violations = new Violations();
        violations.Check(InstanceRules.IsInstanceId(request.InstanceId), "instance_id", $"{InstanceRules.InstanceIdRule}; got '{request.InstanceId}'.");
        violations.Check(InstanceRules.IsLeaseId(request.LeaseId), "lease_id", $"must be the lease_id Register returned (32 hex digits); got '{request.LeaseId}'.");
        violations.Check(System.Enum.IsDefined(request.Health), "health", $"{(int)request.Health} is not an InstanceHealth.");
        violations.Check(!request.HasLoad || InstanceRules.IsLoad(request.Load), "load", $"must be 0.0 (idle) to 1.0 (saturated), or unset to keep the last value; got {request.Load}.");
        violations.ThrowIfAny();

        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var registration = await Registration.ReadAsync(_store, request.InstanceId, _time, cancellationToken).ConfigureAwait(false);
            if (registration.Live is not { } live)
            {
                throw Errors.UnknownInstance(request.InstanceId);
            }

            if (live.LeaseId != request.LeaseId)
            {
                throw Errors.NotFound($"Lease '{request.LeaseId}' of instance '{request.InstanceId}' is not its current lease (the instance registered again since); Register again to get a new lease.");
            }

            var now = _time.GetUtcNow();
            var instance = live.Clone();
            var healthChanged = request.Health != InstanceHealth.Unspecified && request.Health != live.Health;
            if (healthChanged)
            {
                instance.Health = request.Health;
            }

            if (request.HasLoad)
            {
                instance.Load = request.Load;
            }

            instance.LastHeartbeatTime = Timestamp.FromDateTimeOffset(now);
            instance.ExpireTime = Timestamp.FromDateTimeOffset(now + instance.Ttl.ToTimeSpan());
            var transaction = new StateTransaction();
            registration.Write(transaction, instance);
            Registration.ReplaceMembers(transaction, registration.Last ?? live, instance);
            if (healthChanged)
            {
                _events.Publish(transaction, ChangeEvents.InstanceChanged(ProviderChangeType.HealthChanged, instance, registration.LastVersion, instance.LastHeartbeatTime));
            }

            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                if (healthChanged)
                {
                    LogHealthChanged(_logger, request.InstanceId, instance.Health);
                }

                return new HeartbeatResponse { ExpireTime = instance.ExpireTime };
            }

            // Changed meanwhile (re-registered, deregistered, lapsed): read again, which answers NOT_FOUND if it is gone.
        }

        throw Errors.Contended(request.InstanceId);
    }

    /// <inheritdoc/>
    public async ValueTask<DeregisterResponse> DeregisterAsync(DeregisterRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireService(context.GetPrincipal(), "Deregister");
        var violations = new Violations();
        violations.Check(InstanceRules.IsInstanceId(request.InstanceId), "instance_id", $"{InstanceRules.InstanceIdRule}; got '{request.InstanceId}'.");
        violations.Check(request.LeaseId.Length == 0 || InstanceRules.IsLeaseId(request.LeaseId), "lease_id", $"must be empty or a lease_id Register returned (32 hex digits); got '{request.LeaseId}'.");
        violations.ThrowIfAny();

        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var registration = await Registration.ReadAsync(_store, request.InstanceId, _time, cancellationToken).ConfigureAwait(false);
            if (registration.Live is not { } live)
            {
                // Unknown or expired: nothing to remove, but a lapse not yet processed is processed now.
                if (registration.IsLapsed)
                {
                    await _expiry.ProcessAsync(request.InstanceId, null, cancellationToken).ConfigureAwait(false);
                }

                return new DeregisterResponse { Deregistered = false };
            }

            if (request.LeaseId.Length > 0 && live.LeaseId != request.LeaseId)
            {
                // A stale holder: the instance registered again (maybe elsewhere) and that registration stays.
                return new DeregisterResponse { Deregistered = false };
            }

            var transaction = new StateTransaction();
            registration.Delete(transaction);
            Registration.ReplaceMembers(transaction, registration.Last ?? live, null);
            _events.Publish(transaction, ChangeEvents.InstanceChanged(ProviderChangeType.Deregistered, live, registration.LastVersion, Timestamp.FromDateTimeOffset(_time.GetUtcNow())));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogDeregistered(_logger, request.InstanceId, live.ServiceName);
                return new DeregisterResponse { Deregistered = true };
            }
        }

        throw Errors.Contended(request.InstanceId);
    }

    private static string NewLeaseId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}

using GameSystem.Auth.V1;
using GameSystem.Mesh;
using GameSystem.Services.Auth.Internal;
using GameSystem.State;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Services.Auth;

public sealed partial class AuthService
{
    private const int MaxRoleScopes = 100;

    /// <inheritdoc/>
    public async ValueTask<PutRoleResponse> PutRoleAsync(PutRoleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        AccessRules.RequireAdmin(context.GetPrincipal(), "PutRole");
        Errors.Require(request.Role is not null, "role", "is required: role.role_id and role.scopes.");
        var role = request.Role!;
        Errors.Require(role.RoleId.Length > 0, "role.role_id", "is required, e.g. 'game_master'.");
        Errors.Check(AccountRules.CheckRoleId(role.RoleId), "role.role_id");
        Errors.Require(role.RoleId != ServiceRole, "role.role_id", $"'{ServiceRole}' is reserved for service accounts and cannot be defined.");
        Errors.Require(role.Description.Length <= 500, "role.description", $"must be at most 500 characters; got {role.Description.Length}.");
        Errors.Require(role.Scopes.Count <= MaxRoleScopes, "role.scopes", $"holds {role.Scopes.Count} scopes; a role has at most {MaxRoleScopes}.");
        for (var i = 0; i < role.Scopes.Count; i++)
        {
            Errors.Require(AccountRules.IsValidScope(role.Scopes[i]), $"role.scopes[{i}]", $"'{role.Scopes[i]}' is not a scope: dotted lower-case words, optionally ending in .* (or * alone), e.g. 'quests.write'.");
        }

        Errors.Require(request.ExpectedVersion >= 0, "expected_version", "must be 0 (create) or the role's current version (replace).");
        var cancellationToken = context.CancellationToken;
        await EnsureBuiltinRolesAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var entry = await _store.GetAsync(StoreKeys.Role(role.RoleId), cancellationToken).ConfigureAwait(false);
            var current = entry is null ? null : RoleRecord.Parser.ParseFrom(entry.Value.Span).Role;
            if (request.ExpectedVersion == 0 && current is not null)
            {
                throw Errors.AlreadyExists($"Role '{role.RoleId}' already exists (version {current.Version}); pass expected_version {current.Version} to replace it.");
            }

            if (request.ExpectedVersion != 0)
            {
                if (current is null)
                {
                    throw Errors.NotFound($"Role '{role.RoleId}' does not exist; pass expected_version 0 to create it.");
                }

                Errors.CheckVersion($"Role '{role.RoleId}'", request.ExpectedVersion, current.Version);
            }

            var next = new Role
            {
                RoleId = role.RoleId,
                Description = role.Description,
                Scopes = { role.Scopes.Distinct(StringComparer.Ordinal) },
                Version = (current?.Version ?? 0) + 1,
                UpdateTime = Now(),
            };
            var transaction = new StateTransaction()
                .Set(StoreKeys.Role(role.RoleId), new RoleRecord { Role = next }.ToByteArray(), entry?.Version ?? 0)
                .IndexAdd(StoreKeys.RoleIds, role.RoleId);
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogRoleChanged(_logger, role.RoleId, current is null ? "created" : "replaced");
                return new PutRoleResponse { Role = next };
            }
        }

        throw Errors.Contended($"Role '{role.RoleId}'");
    }

    /// <inheritdoc/>
    public async ValueTask<GetRoleResponse> GetRoleAsync(GetRoleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        AccessRules.RequireAdmin(context.GetPrincipal(), "GetRole");
        Errors.Require(request.RoleId.Length > 0, "role_id", "is required, e.g. 'player'.");
        Errors.Check(AccountRules.CheckRoleId(request.RoleId), "role_id");
        await EnsureBuiltinRolesAsync(context.CancellationToken).ConfigureAwait(false);
        var entry = await _store.GetAsync(StoreKeys.Role(request.RoleId), context.CancellationToken).ConfigureAwait(false)
            ?? throw Errors.NotFound($"Role '{request.RoleId}' does not exist; ListRoles lists the roles there are.");
        return new GetRoleResponse { Role = RoleRecord.Parser.ParseFrom(entry.Value.Span).Role };
    }

    /// <inheritdoc/>
    public async ValueTask<ListRolesResponse> ListRolesAsync(ListRolesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        AccessRules.RequireAdmin(context.GetPrincipal(), "ListRoles");
        var pageSize = IndexPaging.Size(request.PageSize, defaultSize: 100, maxSize: 200);
        if (request.Scope.Length > 0)
        {
            Errors.Require(AccountRules.IsValidScope(request.Scope), "scope", $"'{request.Scope}' is not a scope: dotted lower-case words, optionally ending in .* (or * alone).");
        }

        var token = IndexPaging.DecodeToken(request.PageToken, "ListRoles", 2);
        var cancellationToken = context.CancellationToken;
        await EnsureBuiltinRolesAsync(cancellationToken).ConfigureAwait(false);
        var page = await IndexPaging.ReadAsync<Role>(
            _store,
            StoreKeys.RoleIds,
            prefix: null,
            descending: false,
            token?[1],
            pageSize,
            async (members, ct) =>
            {
                var entries = await _store.GetManyAsync([.. members.Select(StoreKeys.Role)], ct).ConfigureAwait(false);
                return [.. entries.Select(e => e is null ? null : RoleRecord.Parser.ParseFrom(e.Value.Span).Role)];
            },
            r => request.Scope.Length == 0 || r.Scopes.Contains(request.Scope),
            cancellationToken).ConfigureAwait(false);
        var response = new ListRolesResponse { Roles = { page.Items } };
        if (page.ResumeAfter is not null)
        {
            response.NextPageToken = IndexPaging.EncodeToken("ListRoles", page.ResumeAfter);
        }

        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<DeleteRoleResponse> DeleteRoleAsync(DeleteRoleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        AccessRules.RequireAdmin(context.GetPrincipal(), "DeleteRole");
        Errors.Require(request.RoleId.Length > 0, "role_id", "is required.");
        Errors.Check(AccountRules.CheckRoleId(request.RoleId), "role_id");
        if (IsBuiltin(request.RoleId))
        {
            throw Errors.FailedPrecondition($"Role '{request.RoleId}' is built in and cannot be deleted; change its scopes with PutRole instead.");
        }

        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var entry = await _store.GetAsync(StoreKeys.Role(request.RoleId), cancellationToken).ConfigureAwait(false);
            if (entry is null)
            {
                return new DeleteRoleResponse { Deleted = false };
            }

            var holders = await _store.QueryIndexAsync(StoreKeys.RoleMembers(request.RoleId), new StateIndexQuery { PageSize = 1 }, cancellationToken).ConfigureAwait(false);
            if (holders.Members is [var holder])
            {
                throw Errors.FailedPrecondition($"Role '{request.RoleId}' is still held (e.g. by account '{StoreKeys.IdOf(holder)}'); take it away with SetAccountRoles first (ListAccounts with role='{request.RoleId}' lists the holders).");
            }

            // Nobody may be given the role between the check and the delete: SetAccountRoles rewrites
            // the role it grants (moving its version), so it and this delete exclude each other.
            var transaction = new StateTransaction()
                .Delete(StoreKeys.Role(request.RoleId), entry.Version)
                .IndexRemove(StoreKeys.RoleIds, request.RoleId);
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogRoleChanged(_logger, request.RoleId, "deleted");
                return new DeleteRoleResponse { Deleted = true };
            }
        }

        throw Errors.Contended($"Role '{request.RoleId}'");
    }
}

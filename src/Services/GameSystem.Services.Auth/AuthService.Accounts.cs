using GameSystem.Auth.V1;
using GameSystem.Mesh;
using GameSystem.Services.Auth.Internal;
using GameSystem.State;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Services.Auth;

public sealed partial class AuthService
{
    private static readonly string[] AccountUpdatePaths = ["display_name", "email"];

    /// <inheritdoc/>
    public async ValueTask<RegisterResponse> RegisterAsync(RegisterRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.Username.Length > 0, "username", $"is required: {AccountRules.MinUsername}-{AccountRules.MaxUsername} letters, digits, '_', '-' or '.'.");
        Errors.Check(AccountRules.CheckUsername(request.Username), "username");
        Errors.Check(AccountRules.CheckEmail(request.Email), "email");
        Errors.Require(request.Password.Length > 0, "password", $"is required: {AccountRules.MinPassword}-{AccountRules.MaxPassword} characters.");
        Errors.Check(AccountRules.CheckPassword(request.Password, request.Username), "password");
        if (request.DisplayName.Length > 0)
        {
            Errors.Check(AccountRules.CheckDisplayName(request.DisplayName), "display_name");
        }

        Errors.Require(request.RequestId.Length > 0, "request_id", "is required: a client-chosen id (a UUID) that makes retries safe.");
        var cancellationToken = context.CancellationToken;
        await EnsureBuiltinRolesAsync(cancellationToken).ConfigureAwait(false);
        var claim = new RequestId("Register", request.RequestId, AccountRules.Normalize(request.Username), AccountRules.Normalize(request.Email), request.DisplayName);
        var hash = _passwords.Hash(request.Password);
        var usernameKey = StoreKeys.UsernameClaim(request.Username);
        var emailKey = StoreKeys.EmailClaim(request.Email);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([claim.Key, usernameKey, emailKey], cancellationToken).ConfigureAwait(false);
            if (claim.AnswerOf(read[0], RegisterResponse.Parser) is { } answer)
            {
                return answer;
            }

            if (read[1] is not null)
            {
                throw Errors.AlreadyExists($"Username '{request.Username}' is taken (usernames are compared case-insensitively); choose another.");
            }

            if (read[2] is not null)
            {
                throw Errors.AlreadyExists($"E-mail '{request.Email}' already belongs to an account; log in with it, or use another.");
            }

            var stamp = Now();
            var account = new Account
            {
                AccountId = NewId("acc-"),
                Username = request.Username,
                Email = request.Email,
                DisplayName = request.DisplayName.Length > 0 ? request.DisplayName : request.Username,
                State = AccountState.Active,
                CreateTime = stamp,
                UpdateTime = stamp,
                PasswordUpdateTime = stamp,
                Version = 1,
                Roles = { PlayerRole },
            };
            if (_administrators.Contains(AccountRules.Normalize(request.Username)))
            {
                account.Roles.Add(AdminRole);
            }

            var record = new AccountRecord { Account = account, Password = hash };
            var transaction = new StateTransaction()
                .Set(StoreKeys.Account(account.AccountId), record.ToByteArray(), expectedVersion: 0)
                .Set(usernameKey, ByteString.CopyFromUtf8(account.AccountId).Memory, expectedVersion: 0)
                .Set(emailKey, ByteString.CopyFromUtf8(account.AccountId).Memory, expectedVersion: 0)
                .IndexAdd(StoreKeys.Usernames, UsernameMember(account))
                .IndexAdd(StoreKeys.Emails, EmailMember(account));
            foreach (var role in account.Roles)
            {
                transaction.IndexAdd(StoreKeys.RoleMembers(role), UsernameMember(account));
            }

            var response = new RegisterResponse { Account = account };
            claim.Record(transaction, response);
            _outbox.Publish(transaction, AuthEvents.AccountRegistered(account));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogRegistered(_logger, account.AccountId);
                return response;
            }
        }

        throw Errors.Contended("The account directory");
    }

    /// <inheritdoc/>
    public async ValueTask<GetAccountResponse> GetAccountAsync(GetAccountRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateAccountId(request.AccountId, "account_id");
        AccessRules.RequireOwnerOrAdmin(context.GetPrincipal(), request.AccountId, "GetAccount");
        var (_, record) = await ReadAccountAsync(request.AccountId, context.CancellationToken).ConfigureAwait(false);
        return new GetAccountResponse { Account = record.Account };
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Pages the username index (or the role's, or the disabled accounts'); with a prefix, first
    /// the usernames that start with it, in username order, then the accounts whose e-mail
    /// starts with it and whose username does not, in e-mail order.
    /// </remarks>
    public async ValueTask<ListAccountsResponse> ListAccountsAsync(ListAccountsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        AccessRules.RequireAdmin(context.GetPrincipal(), "ListAccounts");
        var pageSize = IndexPaging.Size(request.PageSize, defaultSize: 50, maxSize: 200);
        Errors.Require(System.Enum.IsDefined(request.State), "state", $"{(int)request.State} is not an AccountState.");
        if (request.Role.Length > 0)
        {
            Errors.Check(AccountRules.CheckRoleId(request.Role), "role");
        }

        var prefix = AccountRules.Normalize(request.Prefix);
        Errors.Require(prefix.Length <= AccountRules.MaxEmail && !prefix.Any(char.IsControl) && !prefix.Contains(StoreKeys.MemberSeparator, StringComparison.Ordinal), "prefix", "must be at most 254 characters without spaces or control characters.");
        var token = IndexPaging.DecodeToken(request.PageToken, "ListAccounts", 3);
        var phase = token?[1] ?? "u";
        var resumeAfter = token is null || token[2].Length == 0 ? null : token[2];
        var cancellationToken = context.CancellationToken;

        bool Matches(AccountRecord record) =>
            (request.State == AccountState.Unspecified || record.Account.State == request.State)
            && (request.Role.Length == 0 || record.Account.Roles.Contains(request.Role));

        async ValueTask<IReadOnlyList<AccountRecord?>> ReadAsync(IReadOnlyList<string> members, CancellationToken ct)
        {
            var entries = await _store.GetManyAsync([.. members.Select(m => StoreKeys.Account(StoreKeys.IdOf(m)))], ct).ConfigureAwait(false);
            return [.. entries.Select(e => e is null ? null : AccountRecord.Parser.ParseFrom(e.Value.Span))];
        }

        var response = new ListAccountsResponse();
        if (phase == "u")
        {
            var index = request.Role.Length > 0 ? StoreKeys.RoleMembers(request.Role)
                : request.State == AccountState.Disabled ? StoreKeys.Disabled
                : StoreKeys.Usernames;
            var page = await IndexPaging.ReadAsync(_store, index, prefix.Length > 0 ? prefix : null, descending: false, resumeAfter, pageSize, ReadAsync, Matches, cancellationToken).ConfigureAwait(false);
            response.Accounts.AddRange(page.Items.Select(r => r.Account));
            if (page.ResumeAfter is not null)
            {
                response.NextPageToken = IndexPaging.EncodeToken("ListAccounts", "u", page.ResumeAfter);
                return response;
            }

            if (prefix.Length == 0)
            {
                return response;
            }

            resumeAfter = null;
        }

        var wanted = pageSize - response.Accounts.Count;
        if (wanted == 0)
        {
            response.NextPageToken = IndexPaging.EncodeToken("ListAccounts", "e", "");
            return response;
        }

        var byEmail = await IndexPaging.ReadAsync(
            _store, StoreKeys.Emails, prefix, descending: false, resumeAfter, wanted, ReadAsync,
            r => Matches(r) && !AccountRules.Normalize(r.Account.Username).StartsWith(prefix, StringComparison.Ordinal),
            cancellationToken).ConfigureAwait(false);
        response.Accounts.AddRange(byEmail.Items.Select(r => r.Account));
        if (byEmail.ResumeAfter is not null)
        {
            response.NextPageToken = IndexPaging.EncodeToken("ListAccounts", "e", byEmail.ResumeAfter);
        }

        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<UpdateAccountResponse> UpdateAccountAsync(UpdateAccountRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.Account is not null, "account", "is required: set account.account_id and the fields named in update_mask.");
        var changes = request.Account!;
        ValidateAccountId(changes.AccountId, "account.account_id");
        Errors.Require(request.UpdateMask is { Paths.Count: > 0 }, "update_mask", "is required: name the fields to change, 'display_name' and/or 'email'.");
        foreach (var path in request.UpdateMask!.Paths)
        {
            Errors.Require(AccountUpdatePaths.Contains(path), "update_mask", $"'{path}' cannot be updated; UpdateAccount changes only 'display_name' and 'email' (roles: SetAccountRoles, state: SetAccountState).");
        }

        var paths = request.UpdateMask.Paths.ToHashSet(StringComparer.Ordinal);
        if (paths.Contains("display_name"))
        {
            Errors.Check(AccountRules.CheckDisplayName(changes.DisplayName), "account.display_name");
        }

        if (paths.Contains("email"))
        {
            Errors.Check(AccountRules.CheckEmail(changes.Email), "account.email");
        }

        Errors.Require(request.ExpectedVersion > 0, "expected_version", "is required: the account's version as last read (GetAccount).");
        AccessRules.RequireOwnerOrAdmin(context.GetPrincipal(), changes.AccountId, "UpdateAccount");
        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var (entry, record) = await ReadAccountAsync(changes.AccountId, cancellationToken).ConfigureAwait(false);
            var current = record.Account;
            Errors.CheckVersion($"Account '{current.AccountId}'", request.ExpectedVersion, current.Version);
            var next = current.Clone();
            if (paths.Contains("display_name"))
            {
                next.DisplayName = changes.DisplayName;
            }

            if (paths.Contains("email"))
            {
                next.Email = changes.Email;
            }

            if (next.Equals(current))
            {
                return new UpdateAccountResponse { Account = current };
            }

            next.Version = current.Version + 1;
            next.UpdateTime = Now();
            var transaction = new StateTransaction()
                .Set(StoreKeys.Account(current.AccountId), new AccountRecord(record) { Account = next }.ToByteArray(), entry.Version);
            var emailChanged = !string.Equals(AccountRules.Normalize(next.Email), AccountRules.Normalize(current.Email), StringComparison.Ordinal);
            if (emailChanged)
            {
                var newClaim = StoreKeys.EmailClaim(next.Email);
                if (await _store.GetAsync(newClaim, cancellationToken).ConfigureAwait(false) is not null)
                {
                    throw Errors.AlreadyExists($"E-mail '{next.Email}' already belongs to another account.");
                }

                transaction.Set(newClaim, ByteString.CopyFromUtf8(current.AccountId).Memory, expectedVersion: 0)
                    .Delete(StoreKeys.EmailClaim(current.Email))
                    .IndexRemove(StoreKeys.Emails, EmailMember(current))
                    .IndexAdd(StoreKeys.Emails, EmailMember(next));
            }

            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                return new UpdateAccountResponse { Account = next };
            }
        }

        throw Errors.Contended($"Account '{changes.AccountId}'");
    }

    /// <inheritdoc/>
    public async ValueTask<ChangePasswordResponse> ChangePasswordAsync(ChangePasswordRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateAccountId(request.AccountId, "account_id");
        Errors.Require(request.CurrentPassword.Length > 0, "current_password", "is required.");
        Errors.Require(request.NewPassword.Length > 0, "new_password", $"is required: {AccountRules.MinPassword}-{AccountRules.MaxPassword} characters.");
        Errors.Require(request.NewPassword != request.CurrentPassword, "new_password", "must differ from current_password.");
        if (request.KeepSessionId.Length > 0)
        {
            ValidateSessionId(request.KeepSessionId, "keep_session_id");
        }

        Errors.Require(request.RequestId.Length > 0, "request_id", "is required: a client-chosen id (a UUID) that makes retries safe.");
        AccessRules.RequireOwnerOrAdmin(context.GetPrincipal(), request.AccountId, "ChangePassword");
        var cancellationToken = context.CancellationToken;
        var claim = new RequestId("ChangePassword", request.RequestId, request.AccountId, request.KeepSessionId);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([claim.Key, StoreKeys.Account(request.AccountId)], cancellationToken).ConfigureAwait(false);
            if (claim.AnswerOf(read[0], ChangePasswordResponse.Parser) is { } answer)
            {
                return answer;
            }

            var entry = read[1] ?? throw AccountNotFound(request.AccountId);
            var record = AccountRecord.Parser.ParseFrom(entry.Value.Span);
            Errors.Check(AccountRules.CheckPassword(request.NewPassword, record.Account.Username), "new_password");
            if (record.Password is null || !PasswordHasher.Verify(record.Password, request.CurrentPassword))
            {
                throw Errors.Unauthenticated("current_password is wrong; the password was not changed.");
            }

            var stamp = Now();
            var next = record.Account.Clone();
            next.PasswordUpdateTime = stamp;
            next.UpdateTime = stamp;
            next.Version++;
            var transaction = new StateTransaction()
                .Set(StoreKeys.Account(next.AccountId), new AccountRecord(record) { Account = next, Password = _passwords.Hash(request.NewPassword) }.ToByteArray(), entry.Version);
            var revoked = await RevokeSessionsAsync(transaction, next.AccountId, request.KeepSessionId, "password_changed", cancellationToken).ConfigureAwait(false);
            var response = new ChangePasswordResponse { RevokedSessionCount = revoked.Count };
            claim.Record(transaction, response);
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogPasswordChanged(_logger, next.AccountId, revoked.Count);
                return response;
            }
        }

        throw Errors.Contended($"Account '{request.AccountId}'");
    }

    /// <inheritdoc/>
    public async ValueTask<SetAccountRolesResponse> SetAccountRolesAsync(SetAccountRolesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        AccessRules.RequireAdmin(context.GetPrincipal(), "SetAccountRoles");
        ValidateAccountId(request.AccountId, "account_id");
        for (var i = 0; i < request.Roles.Count; i++)
        {
            Errors.Check(AccountRules.CheckRoleId(request.Roles[i]), $"roles[{i}]");
            Errors.Require(request.Roles[i] != ServiceRole, $"roles[{i}]", $"'{ServiceRole}' is reserved for service accounts, which IssueServiceToken makes; it cannot be granted.");
        }

        Errors.Require(request.ExpectedVersion > 0, "expected_version", "is required: the account's version as last read (GetAccount).");
        var roles = request.Roles.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var cancellationToken = context.CancellationToken;
        await EnsureBuiltinRolesAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([StoreKeys.Account(request.AccountId), .. roles.Select(StoreKeys.Role)], cancellationToken).ConfigureAwait(false);
            var entry = read[0] ?? throw AccountNotFound(request.AccountId);
            var record = AccountRecord.Parser.ParseFrom(entry.Value.Span);
            Errors.Require(!record.Service, "account_id", $"'{request.AccountId}' is a service account; its role is always '{ServiceRole}'.");
            var current = record.Account;
            Errors.CheckVersion($"Account '{current.AccountId}'", request.ExpectedVersion, current.Version);
            for (var i = 0; i < roles.Count; i++)
            {
                if (read[i + 1] is null)
                {
                    throw Errors.NotFound($"Role '{roles[i]}' does not exist; create it with PutRole first (ListRoles lists the roles there are).");
                }
            }

            var transaction = new StateTransaction();
            var next = current.Clone();
            if (!current.Roles.SequenceEqual(roles))
            {
                next.Roles.Clear();
                next.Roles.AddRange(roles);
                next.Version++;
                next.UpdateTime = Now();
                transaction.Set(StoreKeys.Account(current.AccountId), new AccountRecord(record) { Account = next }.ToByteArray(), entry.Version);
                foreach (var removed in current.Roles.Except(roles))
                {
                    transaction.IndexRemove(StoreKeys.RoleMembers(removed), UsernameMember(current));
                }

                foreach (var added in roles.Except(current.Roles))
                {
                    // Rewriting the role moves its version, so a DeleteRole that saw no holder fails rather than leave this one.
                    var roleEntry = read[roles.IndexOf(added) + 1]!;
                    transaction.IndexAdd(StoreKeys.RoleMembers(added), UsernameMember(current))
                        .Set(StoreKeys.Role(added), roleEntry.Value, roleEntry.Version);
                }

                _outbox.Publish(transaction, AuthEvents.AccountRolesChanged(next));
            }
            else
            {
                transaction.Require(StoreKeys.Account(current.AccountId), entry.Version);
            }

            if (request.RevokeSessions)
            {
                await RevokeSessionsAsync(transaction, current.AccountId, keepSessionId: "", "roles_changed", cancellationToken).ConfigureAwait(false);
            }

            if (transaction.Operations.Count == 0 || (await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                if (!current.Roles.SequenceEqual(roles))
                {
                    LogRolesChanged(_logger, current.AccountId, roles);
                }

                return new SetAccountRolesResponse { Account = next };
            }
        }

        throw Errors.Contended($"Account '{request.AccountId}'");
    }

    /// <inheritdoc/>
    public async ValueTask<SetAccountStateResponse> SetAccountStateAsync(SetAccountStateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        AccessRules.RequireAdmin(context.GetPrincipal(), "SetAccountState");
        ValidateAccountId(request.AccountId, "account_id");
        Errors.Require(request.State is AccountState.Active or AccountState.Disabled, "state", "must be ACCOUNT_STATE_ACTIVE or ACCOUNT_STATE_DISABLED.");
        Errors.Require(request.State != AccountState.Disabled || request.Reason.Trim().Length > 0, "reason", "is required when disabling an account: say why, for the audit trail.");
        Errors.Require(request.Reason.Length <= 500, "reason", $"must be at most 500 characters; got {request.Reason.Length}.");
        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var (entry, record) = await ReadAccountAsync(request.AccountId, cancellationToken).ConfigureAwait(false);
            var current = record.Account;
            if (current.State == request.State)
            {
                return new SetAccountStateResponse { Account = current };
            }

            var next = current.Clone();
            next.State = request.State;
            next.Version++;
            next.UpdateTime = Now();
            var transaction = new StateTransaction()
                .Set(StoreKeys.Account(current.AccountId), new AccountRecord(record) { Account = next }.ToByteArray(), entry.Version);
            if (next.State == AccountState.Disabled)
            {
                transaction.IndexAdd(StoreKeys.Disabled, UsernameMember(next));
                await RevokeSessionsAsync(transaction, next.AccountId, keepSessionId: "", "account_disabled", cancellationToken).ConfigureAwait(false);
            }
            else
            {
                transaction.IndexRemove(StoreKeys.Disabled, UsernameMember(next));
            }

            _outbox.Publish(transaction, AuthEvents.AccountStateChanged(next, request.Reason));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogStateChanged(_logger, next.AccountId, next.State);
                return new SetAccountStateResponse { Account = next };
            }
        }

        throw Errors.Contended($"Account '{request.AccountId}'");
    }
}

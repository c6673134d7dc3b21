using GameSystem.Auth.V1;
using GameSystem.Common.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.Auth.Internal;

/// <summary>The domain events of the contract, as published through the outbox.</summary>
internal static class AuthEvents
{
    public const string AccountRegisteredType = "auth.account.registered";
    public const string AccountStateChangedType = "auth.account.state_changed";
    public const string SessionRevokedType = "auth.session.revoked";
    public const string AccountRolesChangedType = "auth.account.roles_changed";

    public static DomainEvent AccountRegistered(Account account) =>
        Event(AccountRegisteredType, "accounts/" + account.AccountId, account.CreateTime,
            new AccountRegistered { AccountId = account.AccountId, Username = account.Username, CreateTime = account.CreateTime });

    public static DomainEvent AccountStateChanged(Account account, string reason) =>
        Event(AccountStateChangedType, "accounts/" + account.AccountId, account.UpdateTime,
            new AccountStateChanged { AccountId = account.AccountId, State = account.State, Reason = reason });

    public static DomainEvent SessionRevoked(Session session) =>
        Event(SessionRevokedType, "accounts/" + session.AccountId + "/sessions/" + session.SessionId, session.RevokeTime,
            new SessionRevoked { AccountId = session.AccountId, SessionId = session.SessionId, Reason = session.RevokeReason, RevokeTime = session.RevokeTime });

    public static DomainEvent AccountRolesChanged(Account account)
    {
        var payload = new AccountRolesChanged { AccountId = account.AccountId };
        payload.Roles.AddRange(account.Roles);
        return Event(AccountRolesChangedType, "accounts/" + account.AccountId, account.UpdateTime, payload);
    }

    private static DomainEvent Event(string type, string subject, Timestamp at, IMessage payload) => new()
    {
        Type = type,
        Subject = subject,
        OccurredAt = at,
        Payload = payload.ToByteString(),
        PayloadType = payload.Descriptor.FullName,
    };
}

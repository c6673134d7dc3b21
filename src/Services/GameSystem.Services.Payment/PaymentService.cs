using System.Security.Cryptography;
using System.Text;
using GameSystem.Common.V1;
using GameSystem.Events;
using GameSystem.Payment.V1;
using GameSystem.Services.Payment.Internal;
using GameSystem.State;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GameSystem.Services.Payment;

/// <summary>
/// payment: one wallet per player in soft and premium currency, a catalog of offers,
/// purchases, refunds and an append-only double-entry ledger. Every credit, debit, purchase
/// and refund is ONE store transaction of the player's partition (<see cref="StoreKeys"/>)
/// holding the new wallet (guarded by the version read), the ledger transaction with its
/// balanced entries (created once, never changed), the purchase, the idempotency key with
/// the answer, and the events in the outbox; so balances, ledger, purchases and events never
/// disagree, a crash never leaves half of a change, and racing repeats of one key charge once.
/// </summary>
public sealed partial class PaymentService : IPaymentService
{
    private readonly IStateStore _store;
    private readonly EventOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger<PaymentService> _logger;
    private readonly PaymentOptions _options;

    /// <summary>Creates the service over a state store, publishing its events through <paramref name="outbox"/>.</summary>
    public PaymentService(IStateStore store, EventOutbox outbox, IOptions<PaymentOptions> options, TimeProvider timeProvider, ILogger<PaymentService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _outbox = outbox;
        _time = timeProvider;
        _logger = logger;
        _options = options.Value ?? PaymentOptions.Default;
    }

    /// <summary>
    /// Runs one money-moving write under its idempotency key: reads the key, the wallet and
    /// its extra keys; a key already used answers its stored response (or
    /// ALREADY_EXISTS when the parameters differ); otherwise its plan decides
    /// the ledger lines (or throws, writing nothing) and the write commits as one transaction
    /// that requires the wallet version read and the key absent. A concurrent write to the
    /// wallet makes it read again; a racing repeat of the key then finds its answer.
    /// </summary>
    private async ValueTask<TResponse> WriteMoneyAsync<TResponse>(MoneyWrite<TResponse> write, CancellationToken cancellationToken)
        where TResponse : class, IMessage<TResponse>
    {
        var fingerprint = ByteString.CopyFrom(SHA256.HashData([.. Encoding.UTF8.GetBytes(write.Rpc + "\n"), .. write.Request.ToByteArray()]));
        var keyKey = StoreKeys.IdempotencyKey(write.PlayerId, write.IdempotencyKey);
        var walletKey = StoreKeys.Wallet(write.PlayerId);
        var transactionId = StoreKeys.TransactionId(write.PlayerId, write.IdempotencyKey);
        string[] keys = [keyKey, walletKey, .. write.ExtraKeys];
        var announced = false;
        for (var attempt = 0; attempt < _options.MaxWriteAttempts; attempt++)
        {
            var read = await _store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
            if (read[0] is { } used)
            {
                return Replay(write, used, fingerprint);
            }

            var walletRead = read[1];
            var before = walletRead is null ? new WalletRecord() : WalletRecord.Parser.ParseFrom(walletRead.Value.Span);
            var now = Now();
            var plan = write.Plan(before, read.Skip(2).ToList(), now);
            foreach (var currency in PaymentRules.Currencies)
            {
                var after = plan.Draft.BalanceAfter(before, currency);
                if (after < 0)
                {
                    throw Errors.FailedPrecondition($"Player '{write.PlayerId}' has {LedgerDraft.Balance(before, currency):N0} {StoreKeys.CurrencyName(currency)}; {write.Rpc} needs {-(after - LedgerDraft.Balance(before, currency)):N0}. Nothing was charged.");
                }

                if (after > _options.MaxBalance)
                {
                    throw Errors.FailedPrecondition($"Player '{write.PlayerId}''s {StoreKeys.CurrencyName(currency)} balance would reach {after:N0}, above the limit of {_options.MaxBalance:N0}. Nothing was credited.");
                }
            }

            if (!announced)
            {
                // Both lookups are supersets written before the change: one without a change behind it reads as absent.
                var owner = _store.SetAsync(StoreKeys.TransactionOwner(transactionId), Encoding.UTF8.GetBytes(write.PlayerId), cancellationToken: cancellationToken).AsTask();
                var player = walletRead is null ? _store.ExecuteAsync(new StateTransaction().IndexAdd(StoreKeys.Players, write.PlayerId), cancellationToken).AsTask() : Task.CompletedTask;
                await Task.WhenAll(owner, player).ConfigureAwait(false);
                announced = true;
            }

            // Sequences are handed out after the wallet was read: every transaction this one can
            // follow on the wallet committed before, with lower sequences, so a wallet's entries
            // are numbered in the order they were written.
            var count = plan.Draft.EntryCount;
            var last = await _store.IncrementAsync(StoreKeys.Sequence, count, cancellationToken: cancellationToken).ConfigureAwait(false);
            var (ledger, wallet) = plan.Draft.Finish(transactionId, write.IdempotencyKey, last - count + 1, before, now);
            var apiWallet = ToWallet(write.PlayerId, wallet);

            var transaction = new StateTransaction()
                .Set(walletKey, wallet.ToByteArray(), expectedVersion: walletRead?.Version ?? 0)
                .Set(StoreKeys.Transaction(write.PlayerId, transactionId), ledger.ToByteArray(), expectedVersion: 0);
            foreach (var entry in ledger.Entries)
            {
                transaction.IndexAdd(StoreKeys.Entries(write.PlayerId), StoreKeys.EntryMember(entry.Sequence, transactionId));
            }

            var response = plan.Commit(transaction, ledger, apiWallet);
            transaction.Set(keyKey, new KeyRecord { Rpc = write.Rpc, Fingerprint = fingerprint, Response = response.ToByteString() }.ToByteArray(), expectedVersion: 0);
            _outbox.Publish(transaction, PaymentEvents.WalletChanged(apiWallet, ledger));
            foreach (var domainEvent in plan.Events(ledger))
            {
                _outbox.Publish(transaction, domainEvent);
            }

            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogWritten(_logger, write.Rpc, write.PlayerId, transactionId, wallet.Version);
                return response;
            }

            // Another write to the wallet won; spread the retries of a crowd of writers a little.
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(0, 2 + Math.Min(attempt, 20))), _time, cancellationToken).ConfigureAwait(false);
        }

        throw Errors.Contended($"Player '{write.PlayerId}''s wallet", _options.MaxWriteAttempts);
    }

    private static TResponse Replay<TResponse>(MoneyWrite<TResponse> write, StateEntry used, ByteString fingerprint)
        where TResponse : class, IMessage<TResponse>
    {
        var record = KeyRecord.Parser.ParseFrom(used.Value.Span);
        if (!record.Fingerprint.Equals(fingerprint))
        {
            throw Errors.AlreadyExists(string.Equals(record.Rpc, write.Rpc, StringComparison.Ordinal)
                ? $"idempotency_key '{PaymentRules.Shorten(write.IdempotencyKey)}' of player '{write.PlayerId}' was already used for a {record.Rpc} with other parameters; a repeat must send the same request, a new change needs a new key."
                : $"idempotency_key '{PaymentRules.Shorten(write.IdempotencyKey)}' of player '{write.PlayerId}' was already used for a {record.Rpc}; keys are unique per player across Credit, Debit, CreatePurchase and RefundPurchase: use a new key.");
        }

        var response = write.Parser.ParseFrom(record.Response);
        write.MarkReplayed(response);
        return response;
    }

    internal static Wallet ToWallet(string playerId, WalletRecord record) => new()
    {
        PlayerId = playerId,
        Balances =
        {
            new CurrencyAmount { Currency = Currency.Soft, Amount = record.Soft },
            new CurrencyAmount { Currency = Currency.Premium, Amount = record.Premium },
        },
        Version = record.Version,
        UpdateTime = record.UpdateTime,
    };

    private async ValueTask<WalletRecord> ReadWalletAsync(string playerId, CancellationToken cancellationToken) =>
        await _store.GetAsync(StoreKeys.Wallet(playerId), cancellationToken).ConfigureAwait(false) is { } stored
            ? WalletRecord.Parser.ParseFrom(stored.Value.Span)
            : new WalletRecord();

    private Timestamp Now() => Timestamp.FromDateTimeOffset(_time.GetUtcNow());

    [LoggerMessage(EventId = 2600, Level = LogLevel.Debug, Message = "{Rpc} of player {PlayerId}: ledger transaction {TransactionId}, wallet version {Version}")]
    private static partial void LogWritten(ILogger logger, string rpc, string playerId, string transactionId, long version);

    /// <summary>One money-moving write: who, under which key, what else to read, and how to plan it from what was read.</summary>
    private sealed record MoneyWrite<TResponse>(
        string Rpc,
        string PlayerId,
        string IdempotencyKey,
        IMessage Request,
        IReadOnlyList<string> ExtraKeys,
        MessageParser<TResponse> Parser,
        Action<TResponse> MarkReplayed,
        Func<WalletRecord, IReadOnlyList<StateEntry?>, Timestamp, MoneyPlan<TResponse>> Plan)
        where TResponse : class, IMessage<TResponse>;

    /// <summary>
    /// What a write does once checked: its ledger lines, what else it writes in the transaction
    /// (given the numbered ledger transaction and the wallet after it) returning the response,
    /// and the events beyond <c>payment.wallet.changed</c>.
    /// </summary>
    private sealed record MoneyPlan<TResponse>(
        LedgerDraft Draft,
        Func<StateTransaction, LedgerTransaction, Wallet, TResponse> Commit,
        Func<LedgerTransaction, IEnumerable<DomainEvent>> Events);
}

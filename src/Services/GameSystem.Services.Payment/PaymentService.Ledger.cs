using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Payment.V1;
using GameSystem.Services.Payment.Internal;
using GameSystem.State;
using Grpc.Core;

namespace GameSystem.Services.Payment;

/// <summary>The ledger: listing entries in sequence order, one transaction, and the audit of its invariants.</summary>
public sealed partial class PaymentService
{
    /// <summary>How often the audit reads a player again when the wallet changed while it summed the entries.</summary>
    private const int AuditAttempts = 20;

    /// <inheritdoc/>
    public async ValueTask<ListLedgerEntriesResponse> ListLedgerEntriesAsync(ListLedgerEntriesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var playerId = request.PlayerId;
        if (playerId.Length > 0)
        {
            PaymentRules.PlayerId(playerId);
        }

        if (request.Account.Length > 0)
        {
            var owner = AccountOwner(request.Account);
            Errors.Require(playerId.Length == 0 || owner.Length == 0 || owner == playerId, "account", $"'{request.Account}' is not an account of player '{playerId}'; leave player_id empty or name one of its accounts, wallets/{playerId}/soft or wallets/{playerId}/premium.");
            playerId = playerId.Length > 0 ? playerId : owner;
        }

        if (request.Currency != Currency.Unspecified)
        {
            PaymentRules.KnownCurrency(request.Currency, "currency");
        }

        if (request.TransactionId.Length > 0)
        {
            PaymentRules.ServerId(request.TransactionId, "transaction_id", "txn-", "ledger transaction");
        }

        PaymentRules.Time(request.StartTime, "start_time");
        PaymentRules.Time(request.EndTime, "end_time");
        Errors.Require(request.StartTime is null || request.EndTime is null || request.StartTime < request.EndTime, "end_time", "is not after start_time; the range would hold no entry.");
        Errors.Require(request.AfterSequence >= 0, "after_sequence", $"is {request.AfterSequence}; sequences start at 1, so use 0 to read from the start.");
        var pageSize = PaymentRules.PageSize(request.PageSize, defaultSize: 100, max: 1000);
        if (playerId.Length > 0)
        {
            Access.RequirePlayer(context.GetPrincipal(), playerId, write: false, "ListLedgerEntries");
        }
        else
        {
            Access.RequireReader(context.GetPrincipal(), "ListLedgerEntries", "reading the whole ledger (no player_id)");
        }

        var listing = string.Join('|', "ledger", request.PlayerId, request.Account, (int)request.Currency, request.TransactionId, request.StartTime, request.EndTime, request.AfterSequence);
        var resume = PageCursor.Resume(request.PageToken, listing);
        var after = resume is null ? request.AfterSequence : long.TryParse(resume, NumberStyles.None, CultureInfo.InvariantCulture, out var at) ? at : throw PageCursor.Invalid();
        var response = new ListLedgerEntriesResponse();
        var examined = 0;
        var entries = request.TransactionId.Length > 0
            ? TransactionEntriesAsync(request.TransactionId, playerId, after, context.CancellationToken)
            : playerId.Length > 0 ? PlayerEntriesAsync(playerId, after, context.CancellationToken) : LedgerEntriesAsync(after, context.CancellationToken);
        await foreach (var entry in entries.ConfigureAwait(false))
        {
            if (response.Entries.Count == pageSize || examined == _options.ListScanLimit)
            {
                response.NextPageToken = PageCursor.After(listing, after.ToString(CultureInfo.InvariantCulture));
                break;
            }

            examined++;
            after = entry.Sequence;
            if ((request.PlayerId.Length == 0 || entry.PlayerId == request.PlayerId)
                && (request.Account.Length == 0 || entry.Account == request.Account)
                && (request.Currency == Currency.Unspecified || entry.Currency == request.Currency)
                && (request.StartTime is null || entry.CreateTime >= request.StartTime)
                && (request.EndTime is null || entry.CreateTime < request.EndTime))
            {
                response.Entries.Add(entry);
            }
        }

        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<GetLedgerTransactionResponse> GetLedgerTransactionAsync(GetLedgerTransactionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        PaymentRules.ServerId(request.TransactionId, "transaction_id", "txn-", "ledger transaction");
        Access.RequireAdmin(context.GetPrincipal(), "GetLedgerTransaction");
        return new GetLedgerTransactionResponse
        {
            Transaction = await ReadTransactionAsync(request.TransactionId, context.CancellationToken).ConfigureAwait(false)
                ?? throw Errors.NotFound($"The ledger has no transaction '{request.TransactionId}'; Credit, Debit, CreatePurchase and RefundPurchase return the ids of theirs."),
        };
    }

    /// <inheritdoc/>
    public async ValueTask<AuditLedgerResponse> AuditLedgerAsync(AuditLedgerRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.PlayerId.Length > 0)
        {
            PaymentRules.PlayerId(request.PlayerId);
        }

        var max = PaymentRules.PageSize(request.MaxDiscrepancies, defaultSize: 100, max: 1000, "max_discrepancies");
        Access.RequireAdmin(context.GetPrincipal(), "AuditLedger");
        var response = new AuditLedgerResponse();
        var inconsistent = 0;
        var players = request.PlayerId.Length > 0 ? Once(request.PlayerId) : IndexMembersAsync(StoreKeys.Players, null, context.CancellationToken);
        await foreach (var playerId in players.ConfigureAwait(false))
        {
            var audit = await AuditPlayerAsync(playerId, context.CancellationToken).ConfigureAwait(false);
            response.TransactionCount += audit.Transactions;
            response.EntryCount += audit.Entries;
            inconsistent += audit.Discrepancies.Count;
            foreach (var discrepancy in audit.Discrepancies)
            {
                if (response.Discrepancies.Count < max)
                {
                    response.Discrepancies.Add(discrepancy);
                }
            }
        }

        response.Consistent = inconsistent == 0;
        return response;
    }

    /// <summary>
    /// Audits one player's partition: every ledger transaction balances per currency and has at
    /// least two entries, every indexed entry exists, and each wallet balance equals the sum of
    /// its entries. Sums again when the wallet moved meanwhile, so a live audit sees one state.
    /// </summary>
    private async ValueTask<(long Transactions, long Entries, List<LedgerDiscrepancy> Discrepancies)> AuditPlayerAsync(string playerId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var walletBefore = await _store.GetAsync(StoreKeys.Wallet(playerId), cancellationToken).ConfigureAwait(false);
            var discrepancies = new List<LedgerDiscrepancy>();
            var sums = new Dictionary<Currency, long> { [Currency.Soft] = 0, [Currency.Premium] = 0 };
            var transactions = new Dictionary<string, LedgerTransaction?>(StringComparer.Ordinal);
            long entries = 0;
            var members = new List<(long Sequence, string TransactionId)>();
            await foreach (var member in IndexMembersAsync(StoreKeys.Entries(playerId), null, cancellationToken).ConfigureAwait(false))
            {
                members.Add(StoreKeys.ParseEntryMember(member));
            }

            await ReadTransactionsAsync(playerId, members.Select(m => m.TransactionId), transactions, cancellationToken).ConfigureAwait(false);
            var indexed = members.ToHashSet();
            foreach (var (id, transaction) in transactions)
            {
                if (transaction is null)
                {
                    discrepancies.Add(new LedgerDiscrepancy { TransactionId = id, ExpectedAmount = indexed.Count(m => m.TransactionId == id), ActualAmount = 0 });
                    continue;
                }

                entries += transaction.Entries.Count;
                foreach (var currency in PaymentRules.Currencies)
                {
                    var debits = transaction.Entries.Where(e => e.Currency == currency && e.Direction == EntryDirection.Debit).Sum(e => e.Amount);
                    var credits = transaction.Entries.Where(e => e.Currency == currency && e.Direction == EntryDirection.Credit).Sum(e => e.Amount);
                    if (debits != credits)
                    {
                        discrepancies.Add(new LedgerDiscrepancy { TransactionId = id, Currency = currency, ExpectedAmount = debits, ActualAmount = credits });
                    }
                }

                if (transaction.Entries.Count < 2 || transaction.Entries.Any(e => e.Amount <= 0 || !indexed.Contains((e.Sequence, id))))
                {
                    discrepancies.Add(new LedgerDiscrepancy { TransactionId = id, ExpectedAmount = Math.Max(2, transaction.Entries.Count), ActualAmount = transaction.Entries.Count(e => e.Amount > 0 && indexed.Contains((e.Sequence, id))) });
                }

                foreach (var entry in transaction.Entries.Where(e => e.PlayerId == playerId))
                {
                    sums[entry.Currency] += entry.Direction == EntryDirection.Credit ? entry.Amount : -entry.Amount;
                }
            }

            var walletAfter = await _store.GetAsync(StoreKeys.Wallet(playerId), cancellationToken).ConfigureAwait(false);
            if ((walletBefore?.Version ?? 0) != (walletAfter?.Version ?? 0) && attempt < AuditAttempts)
            {
                continue; // a write landed while the entries were summed
            }

            var wallet = walletAfter is null ? new WalletRecord() : WalletRecord.Parser.ParseFrom(walletAfter.Value.Span);
            foreach (var currency in PaymentRules.Currencies)
            {
                var balance = LedgerDraft.Balance(wallet, currency);
                if (balance != sums[currency] || balance < 0)
                {
                    discrepancies.Add(new LedgerDiscrepancy { Account = StoreKeys.WalletAccount(playerId, currency), Currency = currency, ExpectedAmount = sums[currency], ActualAmount = balance });
                }
            }

            return (transactions.Count, entries, discrepancies);
        }
    }

    /// <summary>The entries of one transaction after <paramref name="after"/>, when it belongs to <paramref name="playerId"/> (any player when empty).</summary>
    private async IAsyncEnumerable<LedgerEntry> TransactionEntriesAsync(string transactionId, string playerId, long after, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var owner = await TransactionOwnerAsync(transactionId, cancellationToken).ConfigureAwait(false);
        if (owner is null || (playerId.Length > 0 && owner != playerId))
        {
            yield break;
        }

        var stored = await _store.GetAsync(StoreKeys.Transaction(owner, transactionId), cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            yield break;
        }

        foreach (var entry in LedgerTransaction.Parser.ParseFrom(stored.Value.Span).Entries.Where(e => e.Sequence > after))
        {
            yield return entry;
        }
    }

    /// <summary>Every entry of <paramref name="playerId"/>'s partition (wallet and balancing system entries) after <paramref name="after"/>, in sequence order.</summary>
    private async IAsyncEnumerable<LedgerEntry> PlayerEntriesAsync(string playerId, long after, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var cache = new Dictionary<string, LedgerTransaction?>(StringComparer.Ordinal);
        string? pageToken = null;
        do
        {
            var page = await _store.QueryIndexAsync(StoreKeys.Entries(playerId), new StateIndexQuery { From = StateIndex.SortableNumber(after + 1), PageSize = 200, PageToken = pageToken }, cancellationToken).ConfigureAwait(false);
            var members = page.Members.Select(StoreKeys.ParseEntryMember).ToList();
            await ReadTransactionsAsync(playerId, members.Select(m => m.TransactionId), cache, cancellationToken).ConfigureAwait(false);
            foreach (var (sequence, transactionId) in members)
            {
                if (cache[transactionId]?.Entries.FirstOrDefault(e => e.Sequence == sequence) is { } entry)
                {
                    yield return entry;
                }
            }

            pageToken = page.NextPageToken;
        }
        while (pageToken is not null);
    }

    /// <summary>
    /// The whole ledger after <paramref name="after"/>, in sequence order: each player's entries
    /// merged. Every round reads the next few members of every player and yields up to the
    /// smallest last sequence among players with more, so nothing is passed over.
    /// </summary>
    private async IAsyncEnumerable<LedgerEntry> LedgerEntriesAsync(long after, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const int Batch = 100;
        var players = new List<string>();
        await foreach (var player in IndexMembersAsync(StoreKeys.Players, null, cancellationToken).ConfigureAwait(false))
        {
            players.Add(player);
        }

        while (true)
        {
            var candidates = new List<(long Sequence, string PlayerId, string TransactionId)>();
            var bound = long.MaxValue;
            foreach (var player in players)
            {
                var page = await _store.QueryIndexAsync(StoreKeys.Entries(player), new StateIndexQuery { From = StateIndex.SortableNumber(after + 1), PageSize = Batch }, cancellationToken).ConfigureAwait(false);
                var members = page.Members.Select(StoreKeys.ParseEntryMember).ToList();
                candidates.AddRange(members.Select(m => (m.Sequence, player, m.TransactionId)));
                if (page.NextPageToken is not null && members.Count > 0)
                {
                    bound = Math.Min(bound, members[^1].Sequence);
                }
            }

            if (candidates.Count == 0)
            {
                yield break;
            }

            var cache = new Dictionary<string, LedgerTransaction?>(StringComparer.Ordinal);
            foreach (var group in candidates.Where(c => c.Sequence <= bound).GroupBy(c => c.PlayerId))
            {
                await ReadTransactionsAsync(group.Key, group.Select(c => c.TransactionId), cache, cancellationToken).ConfigureAwait(false);
            }

            foreach (var (sequence, _, transactionId) in candidates.Where(c => c.Sequence <= bound).OrderBy(c => c.Sequence))
            {
                after = sequence;
                if (cache[transactionId]?.Entries.FirstOrDefault(e => e.Sequence == sequence) is { } entry)
                {
                    yield return entry;
                }
            }

            if (bound == long.MaxValue)
            {
                yield break;
            }
        }
    }

    /// <summary>Reads the transactions of <paramref name="transactionIds"/> not in <paramref name="cache"/> yet (null where absent).</summary>
    private async ValueTask ReadTransactionsAsync(string playerId, IEnumerable<string> transactionIds, Dictionary<string, LedgerTransaction?> cache, CancellationToken cancellationToken)
    {
        var missing = transactionIds.Distinct(StringComparer.Ordinal).Where(id => !cache.ContainsKey(id)).ToList();
        for (var offset = 0; offset < missing.Count; offset += StateKeys.MaxPageSize)
        {
            var chunk = missing.GetRange(offset, Math.Min(StateKeys.MaxPageSize, missing.Count - offset));
            var read = await _store.GetManyAsync([.. chunk.Select(id => StoreKeys.Transaction(playerId, id))], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < chunk.Count; i++)
            {
                cache[chunk[i]] = read[i] is { } stored ? LedgerTransaction.Parser.ParseFrom(stored.Value.Span) : null;
            }
        }
    }

    private async ValueTask<LedgerTransaction?> ReadTransactionAsync(string transactionId, CancellationToken cancellationToken)
    {
        var owner = await TransactionOwnerAsync(transactionId, cancellationToken).ConfigureAwait(false);
        var stored = owner is null ? null : await _store.GetAsync(StoreKeys.Transaction(owner, transactionId), cancellationToken).ConfigureAwait(false);
        return stored is null ? null : LedgerTransaction.Parser.ParseFrom(stored.Value.Span);
    }

    private async ValueTask<string?> TransactionOwnerAsync(string transactionId, CancellationToken cancellationToken) =>
        await _store.GetAsync(StoreKeys.TransactionOwner(transactionId), cancellationToken).ConfigureAwait(false) is { } owner
            ? Encoding.UTF8.GetString(owner.Value.Span)
            : null;

    /// <summary>Every member of an index, in order, a store page at a time.</summary>
    private async IAsyncEnumerable<string> IndexMembersAsync(string index, string? from, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? pageToken = null;
        do
        {
            var page = await _store.QueryIndexAsync(index, new StateIndexQuery { From = from, PageSize = StateKeys.MaxPageSize, PageToken = pageToken }, cancellationToken).ConfigureAwait(false);
            foreach (var member in page.Members)
            {
                yield return member;
            }

            pageToken = page.NextPageToken;
        }
        while (pageToken is not null);
    }

    private static async IAsyncEnumerable<string> Once(string value)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield return value;
    }

    /// <summary>The player a wallet account belongs to; empty for a system account; INVALID_ARGUMENT for no account of the ledger.</summary>
    private static string AccountOwner(string account)
    {
        var parts = account.Split('/');
        if (parts is ["system", "issuance" or "revenue", "soft" or "premium"])
        {
            return "";
        }

        if (parts is ["wallets", var player, "soft" or "premium"])
        {
            PaymentRules.PlayerId(player, "account");
            return player;
        }

        throw Errors.InvalidArgument("account", $"'{PaymentRules.Shorten(account)}' is not a ledger account: use wallets/{{player_id}}/soft, wallets/{{player_id}}/premium, system/issuance/soft|premium or system/revenue/soft|premium.");
    }
}

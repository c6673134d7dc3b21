using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Payment.V1;
using GameSystem.Services.Payment.Internal;
using Grpc.Core;

namespace GameSystem.Services.Payment;

/// <summary>Wallets: reading one, and crediting or debiting it against the system accounts.</summary>
public sealed partial class PaymentService
{
    /// <inheritdoc/>
    public async ValueTask<GetWalletResponse> GetWalletAsync(GetWalletRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        PaymentRules.PlayerId(request.PlayerId);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, write: false, "GetWallet");
        var wallet = await ReadWalletAsync(request.PlayerId, context.CancellationToken).ConfigureAwait(false);
        return new GetWalletResponse { Wallet = ToWallet(request.PlayerId, wallet) };
    }

    /// <inheritdoc/>
    public async ValueTask<CreditResponse> CreditAsync(CreditRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        PaymentRules.PlayerId(request.PlayerId);
        var amounts = CreditAmounts(request);
        PaymentRules.Reason(request.Reason);
        PaymentRules.Reference(request.Reference);
        PaymentRules.IdempotencyKey(request.IdempotencyKey);
        Access.RequireAdmin(context.GetPrincipal(), "Credit");
        var write = new MoneyWrite<CreditResponse>(
            "Credit",
            request.PlayerId,
            request.IdempotencyKey,
            request,
            [],
            CreditResponse.Parser,
            r => r.Replayed = true,
            (_, _, _) =>
            {
                var draft = new LedgerDraft(request.PlayerId, TransactionType.Credit) { Reason = request.Reason, Reference = request.Reference };
                foreach (var amount in amounts)
                {
                    draft.IntoWallet(amount.Currency, amount.Amount, StoreKeys.IssuanceAccount(amount.Currency));
                }

                return new MoneyPlan<CreditResponse>(draft, (_, ledger, wallet) => new CreditResponse { Wallet = wallet, TransactionId = ledger.TransactionId }, _ => []);
            });
        return await WriteMoneyAsync(write, context.CancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<DebitResponse> DebitAsync(DebitRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        PaymentRules.PlayerId(request.PlayerId);
        PaymentRules.Amount(request.Amount, "amount");
        PaymentRules.Reason(request.Reason);
        PaymentRules.Reference(request.Reference);
        PaymentRules.IdempotencyKey(request.IdempotencyKey);
        Access.RequireAdmin(context.GetPrincipal(), "Debit");
        var amount = request.Amount;
        var write = new MoneyWrite<DebitResponse>(
            "Debit",
            request.PlayerId,
            request.IdempotencyKey,
            request,
            [],
            DebitResponse.Parser,
            r => r.Replayed = true,
            (wallet, _, _) =>
            {
                var balance = LedgerDraft.Balance(wallet, amount.Currency);
                if (balance < amount.Amount)
                {
                    throw Errors.FailedPrecondition($"Player '{request.PlayerId}' has {balance:N0} {StoreKeys.CurrencyName(amount.Currency)}, less than the {amount.Amount:N0} to debit; nothing was debited.");
                }

                var draft = new LedgerDraft(request.PlayerId, TransactionType.Debit) { Reason = request.Reason, Reference = request.Reference }
                    .OutOfWallet(amount.Currency, amount.Amount, StoreKeys.RevenueAccount(amount.Currency));
                return new MoneyPlan<DebitResponse>(draft, (_, ledger, after) => new DebitResponse { Wallet = after, TransactionId = ledger.TransactionId }, _ => []);
            });
        return await WriteMoneyAsync(write, context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>What a Credit credits: <c>amount</c> or <c>amounts</c>, each currency once.</summary>
    private static List<CurrencyAmount> CreditAmounts(CreditRequest request)
    {
        Errors.Require(request.Amount is null || request.Amounts.Count == 0, "amounts", "is set together with amount; credit one currency with amount or several with amounts, not both.");
        if (request.Amounts.Count == 0)
        {
            PaymentRules.Amount(request.Amount, "amount");
            return [request.Amount!];
        }

        Errors.Require(request.Amounts.Count <= PaymentRules.Currencies.Length, "amounts", $"holds {request.Amounts.Count} amounts; the game has {PaymentRules.Currencies.Length} currencies, each credited at most once.");
        var seen = new HashSet<Currency>();
        for (var i = 0; i < request.Amounts.Count; i++)
        {
            PaymentRules.Amount(request.Amounts[i], $"amounts[{i}]");
            Errors.Require(seen.Add(request.Amounts[i].Currency), $"amounts[{i}].currency", $"{request.Amounts[i].Currency} is already credited by an earlier entry; give each currency once.");
        }

        return [.. request.Amounts];
    }
}

using System.ComponentModel.DataAnnotations;

namespace GameSystem.Services.Payment;

/// <summary>
/// payment's configuration, bound by the host from <c>GameSystem:Payment</c>. Immutable;
/// adjust with <c>with</c>.
/// </summary>
public sealed record PaymentOptions : IValidatableObject
{
    /// <summary>The defaults.</summary>
    public static PaymentOptions Default { get; } = new();

    /// <summary>
    /// How often a money write re-reads the wallet and tries again when a concurrent write to
    /// the same wallet got in first, before it answers ABORTED (having charged nothing).
    /// Writes to one wallet are serialized by its version, so this bounds how many writers
    /// may queue on one wallet at once.
    /// </summary>
    public int MaxWriteAttempts { get; init; } = 200;

    /// <summary>Highest balance one currency of a wallet may reach; a credit beyond it is FAILED_PRECONDITION.</summary>
    public long MaxBalance { get; init; } = 1_000_000_000_000_000;

    /// <summary>Index members a filtered listing examines for one page before it answers with a token to continue (AIP-158).</summary>
    public int ListScanLimit { get; init; } = 5_000;

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxWriteAttempts is < 1 or > 10_000)
        {
            yield return new ValidationResult($"{MaxWriteAttempts} must be 1-10000.", [nameof(MaxWriteAttempts)]);
        }

        if (MaxBalance is < 1_000_000_000 or > 1L << 53)
        {
            yield return new ValidationResult($"{MaxBalance} must be 1000000000 to 2^53 (the store's counter range).", [nameof(MaxBalance)]);
        }

        if (ListScanLimit is < 100 or > 1_000_000)
        {
            yield return new ValidationResult($"{ListScanLimit} must be 100-1000000.", [nameof(ListScanLimit)]);
        }
    }
}

using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Payment.V1;
using GameSystem.Services.Payment.Internal;
using GameSystem.State;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.Payment;

/// <summary>The catalog: offers in the <c>{offers}</c> partition, listed through their index by id.</summary>
public sealed partial class PaymentService
{
    /// <inheritdoc/>
    public async ValueTask<PutOfferResponse> PutOfferAsync(PutOfferRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        PaymentRules.Offer(request.Offer);
        Errors.Require(request.ExpectedVersion >= 0, "expected_version", $"is {request.ExpectedVersion}: 0 creates the offer, otherwise give the version last read.");
        Access.RequireAdmin(context.GetPrincipal(), "PutOffer");
        var offerId = request.Offer.OfferId;
        var key = StoreKeys.Offer(offerId);
        var stored = await _store.GetAsync(key, context.CancellationToken).ConfigureAwait(false);
        var current = stored is null ? null : Offer.Parser.ParseFrom(stored.Value.Span);
        if (current is not null && SameContent(current, request.Offer) && (request.ExpectedVersion == 0 || request.ExpectedVersion == current.Version - 1))
        {
            return new PutOfferResponse { Offer = current }; // a retry of the write that stored it
        }

        if (request.ExpectedVersion == 0 && current is not null)
        {
            throw Errors.AlreadyExists($"Offer '{offerId}' exists (version {current.Version}); to replace it, send expected_version {current.Version}.");
        }

        if (request.ExpectedVersion > 0 && current is null)
        {
            throw Errors.NotFound($"Offer '{offerId}' does not exist; create it with expected_version 0.");
        }

        if (current is not null && current.Version != request.ExpectedVersion)
        {
            throw Errors.Aborted($"Offer '{offerId}' is at version {current.Version}, not expected_version {request.ExpectedVersion}; read it again and retry with its current version.");
        }

        var offer = request.Offer.Clone();
        offer.Version = (current?.Version ?? 0) + 1;
        offer.UpdateTime = Now();
        var transaction = new StateTransaction()
            .Set(key, offer.ToByteArray(), expectedVersion: stored?.Version ?? 0)
            .IndexAdd(StoreKeys.OfferIds, offerId);
        if (!(await _store.ExecuteAsync(transaction, context.CancellationToken).ConfigureAwait(false)).Succeeded)
        {
            throw Errors.Aborted($"Offer '{offerId}' changed while this call wrote it; read it again and retry with its current version.");
        }

        LogOfferPut(_logger, offerId, offer.Version);
        return new PutOfferResponse { Offer = offer };
    }

    /// <inheritdoc/>
    public async ValueTask<GetOfferResponse> GetOfferAsync(GetOfferRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        PaymentRules.OfferId(request.OfferId);
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "GetOffer");
        var stored = await _store.GetAsync(StoreKeys.Offer(request.OfferId), context.CancellationToken).ConfigureAwait(false)
            ?? throw NoOffer(request.OfferId);
        return new GetOfferResponse { Offer = Offer.Parser.ParseFrom(stored.Value.Span) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListOffersResponse> ListOffersAsync(ListOffersRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var pageSize = PaymentRules.PageSize(request.PageSize, defaultSize: 50, max: 200);
        if (request.Currency != Currency.Unspecified)
        {
            PaymentRules.KnownCurrency(request.Currency, "currency");
        }

        MeshAuthorization.RequireCaller(context.GetPrincipal(), "ListOffers");
        var listing = $"offers|{(int)request.Currency}|{request.IncludeUnavailable}";
        var after = PageCursor.Resume(request.PageToken, listing);
        var now = Now();
        var response = new ListOffersResponse();
        string? pageToken = null;
        var examined = 0;
        var lastExamined = after;
        while (true)
        {
            var page = await _store.QueryIndexAsync(StoreKeys.OfferIds, new StateIndexQuery { From = after, PageSize = Math.Min(StateKeys.MaxPageSize, pageSize + 1), PageToken = pageToken }, context.CancellationToken).ConfigureAwait(false);
            var ids = page.Members.Where(m => !string.Equals(m, after, StringComparison.Ordinal)).ToList();
            var offers = ids.Count == 0 ? [] : await _store.GetManyAsync([.. ids.Select(StoreKeys.Offer)], context.CancellationToken).ConfigureAwait(false);
            for (var i = 0; i < ids.Count; i++)
            {
                if (response.Offers.Count == pageSize || examined == _options.ListScanLimit)
                {
                    response.NextPageToken = PageCursor.After(listing, lastExamined!);
                    return response;
                }

                examined++;
                lastExamined = ids[i];
                if (offers[i] is { } stored && Offer.Parser.ParseFrom(stored.Value.Span) is var offer
                    && (request.Currency == Currency.Unspecified || offer.Price.Currency == request.Currency)
                    && (request.IncludeUnavailable || PaymentRules.Unavailable(offer, now) is null))
                {
                    response.Offers.Add(offer);
                }
            }

            pageToken = page.NextPageToken;
            if (pageToken is null)
            {
                return response;
            }
        }
    }

    private static RpcException NoOffer(string offerId) =>
        Errors.NotFound($"Offer '{offerId}' does not exist; ListOffers shows the catalog.");

    /// <summary>True when two offers differ only in what the server assigns.</summary>
    private static bool SameContent(Offer stored, Offer requested)
    {
        var a = stored.Clone();
        a.Version = 0;
        a.UpdateTime = null;
        var b = requested.Clone();
        b.Version = 0;
        b.UpdateTime = null;
        return a.Equals(b);
    }

    [LoggerMessage(EventId = 2610, Level = LogLevel.Information, Message = "Offer {OfferId} stored at version {Version}")]
    private static partial void LogOfferPut(ILogger logger, string offerId, long version);
}

using GameSystem.Common.V1;
using GameSystem.Payment.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.Payment.Tests;

/// <summary>The catalog: PutOffer, GetOffer, ListOffers.</summary>
public abstract partial class PaymentContract
{
    [Fact(Timeout = 30_000)]
    public async Task PutOffer_CreatesAtVersionOne_AndAReplaceNeedsTheCurrentVersion()
    {
        await using var payment = await StartAsync();
        var offer = WeaponOffer();

        var created = await PutAsync(payment, offer);
        var retried = await PutAsync(payment, offer);
        var read = (await payment.Client.GetOfferAsync(new GetOfferRequest { OfferId = offer.OfferId }, cancellationToken: Timeout)).Offer;

        Assert.Equal(1, created.Version);
        Assert.NotNull(created.UpdateTime);
        Assert.Equal(created, read);
        Assert.Equal(created, retried); // a lost answer's retry, not a second create

        var cheaper = offer.Clone();
        cheaper.Price = Soft(offer.Price.Amount - 10);
        await FailsAsync(StatusCode.AlreadyExists, () => PutAsync(payment, cheaper), offer.OfferId, "expected_version 1");
        await FailsAsync(StatusCode.Aborted, () => PutAsync(payment, cheaper, expectedVersion: 7), "version 1", "expected_version 7");
        var replaced = await PutAsync(payment, cheaper, expectedVersion: 1);
        Assert.Equal((2L, offer.Price.Amount - 10), (replaced.Version, replaced.Price.Amount));

        var missing = WeaponOffer();
        await FailsAsync(StatusCode.NotFound, () => PutAsync(payment, missing, expectedVersion: 3), missing.OfferId);
    }

    public static TheoryData<string, string> BadOffers => new()
    {
        { "empty-id", "offer.offer_id" },
        { "upper-case-id", "offer.offer_id" },
        { "too-long-id", "offer.offer_id" },
        { "no-price", "offer.price" },
        { "zero-price", "offer.price.amount" },
        { "negative-price", "offer.price.amount" },
        { "unknown-price-currency", "offer.price.currency" },
        { "grant-in-price-currency", "offer.currency_grants[0].currency" },
        { "item-without-quantity", "offer.items[0].quantity" },
        { "bad-item-id", "offer.items[0].item_id" },
        { "nothing-delivered", "offer.items" },
        { "ends-before-it-starts", "offer.end_time" },
        { "negative-limit", "offer.max_per_player" },
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(BadOffers))]
    public async Task PutOffer_WithBadInput_FailsInvalidArgument_NamingTheField_AndStoresNothing(string @case, string field)
    {
        await using var payment = await StartAsync();
        var offer = WeaponOffer();
        var id = offer.OfferId;
        switch (@case)
        {
            case "empty-id": offer.OfferId = ""; break;
            case "upper-case-id": offer.OfferId = "Sword-Of-Doom"; break;
            case "too-long-id": offer.OfferId = new string('a', 65); break;
            case "no-price": offer.Price = null; break;
            case "zero-price": offer.Price.Amount = 0; break;
            case "negative-price": offer.Price.Amount = -5; break;
            case "unknown-price-currency": offer.Price.Currency = (Currency)9; break;
            case "grant-in-price-currency": offer.CurrencyGrants.Add(Soft(10)); break;
            case "item-without-quantity": offer.Items[0].Quantity = 0; break;
            case "bad-item-id": offer.Items[0].ItemId = "Item Sword!"; break;
            case "nothing-delivered": offer.Items.Clear(); break;
            case "ends-before-it-starts": offer.StartTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(2)); offer.EndTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(1)); break;
            case "negative-limit": offer.MaxPerPlayer = -1; break;
        }

        var error = await FailsAsync(StatusCode.InvalidArgument, () => PutAsync(payment, offer));

        Assert.Equal(field, Field(error));
        await FailsAsync(StatusCode.NotFound, () => payment.Client.GetOfferAsync(new GetOfferRequest { OfferId = id }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task GetOffer_OfAnUnknownOffer_IsNotFound_AndOfABadId_InvalidArgument()
    {
        await using var payment = await StartAsync();

        await FailsAsync(StatusCode.NotFound, () => payment.Client.GetOfferAsync(new GetOfferRequest { OfferId = "dragon-egg" }, cancellationToken: Timeout).AsTask(), "'dragon-egg'", "ListOffers");
        var error = await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.GetOfferAsync(new GetOfferRequest { OfferId = "" }, cancellationToken: Timeout).AsTask(), "required");
        Assert.Equal("offer_id", Field(error));
    }

    [Fact(Timeout = 30_000)]
    public async Task ListOffers_PagesInIdOrder_FiltersByCurrency_AndHidesWhatIsNotOnSale()
    {
        await using var payment = await StartAsync();
        var onSale = new List<Offer>();
        for (var i = 0; i < 7; i++)
        {
            onSale.Add(await PutAsync(payment, i % 2 == 0 ? WeaponOffer() : GoldBundleOffer()));
        }

        var inactive = WeaponOffer();
        inactive.Active = false;
        var ended = PotionPackOffer();
        ended.EndTime = Timestamp.FromDateTime(DateTime.UtcNow.AddMinutes(-1));
        var future = PotionPackOffer();
        future.StartTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(1));
        var hidden = new[] { await PutAsync(payment, inactive), await PutAsync(payment, ended), await PutAsync(payment, future) };

        var listed = new List<Offer>();
        var pages = 0;
        var request = new ListOffersRequest { PageSize = 3 };
        do
        {
            var page = await payment.Client.ListOffersAsync(request, cancellationToken: Timeout);
            Assert.True(page.Offers.Count <= 3);
            listed.AddRange(page.Offers);
            request.PageToken = page.NextPageToken;
            pages++;
        }
        while (request.PageToken.Length > 0);

        Assert.Equal(onSale.OrderBy(o => o.OfferId, StringComparer.Ordinal), listed);
        Assert.True(pages >= 3);
        var premium = (await payment.Client.ListOffersAsync(new ListOffersRequest { Currency = Currency.Premium }, cancellationToken: Timeout)).Offers;
        Assert.Equal(onSale.Where(o => o.Price.Currency == Currency.Premium).OrderBy(o => o.OfferId, StringComparer.Ordinal), premium);
        var everything = (await payment.Client.ListOffersAsync(new ListOffersRequest { IncludeUnavailable = true, PageSize = 200 }, cancellationToken: Timeout)).Offers;
        Assert.Equal(onSale.Concat(hidden).OrderBy(o => o.OfferId, StringComparer.Ordinal), everything);

        var token = (await payment.Client.ListOffersAsync(new ListOffersRequest { PageSize = 2 }, cancellationToken: Timeout)).NextPageToken;
        var error = await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.ListOffersAsync(new ListOffersRequest { PageSize = 2, PageToken = token, Currency = Currency.Soft }, cancellationToken: Timeout).AsTask(), "page_token");
        Assert.Equal("page_token", Field(error));
        Assert.Equal("page_size", Field(await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.ListOffersAsync(new ListOffersRequest { PageSize = 201 }, cancellationToken: Timeout).AsTask())));
    }
}

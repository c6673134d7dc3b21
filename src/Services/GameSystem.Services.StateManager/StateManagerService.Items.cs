using GameSystem.Mesh;
using GameSystem.Services.StateManager.Internal;
using GameSystem.State;
using GameSystem.StateManager.V1;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Services.StateManager;

/// <summary>Item definitions (stack limits), in the <c>{items}</c> partition.</summary>
public sealed partial class StateManagerService
{
    private const int MaxStackSize = 9999;
    private const int MaxDisplayNameLength = 200;

    /// <inheritdoc/>
    public async ValueTask<PutItemDefinitionResponse> PutItemDefinitionAsync(PutItemDefinitionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.ItemDefinition is not null, "item_definition", "is required: at least item_id and max_stack_size.");
        var definition = request.ItemDefinition!;
        var problems = new List<FieldProblem>();
        if (!Ids.IsItem(definition.ItemId))
        {
            problems.Add(new("item_definition.item_id", Ids.ItemRule(definition.ItemId)));
        }

        if (definition.MaxStackSize is < 1 or > MaxStackSize)
        {
            problems.Add(new("item_definition.max_stack_size", $"is the most items one slot holds, 1-{MaxStackSize} (1 for an unstackable item such as a sword); got {definition.MaxStackSize}."));
        }

        if (definition.DisplayName.Length > MaxDisplayNameLength || definition.DisplayName.Any(char.IsControl))
        {
            problems.Add(new("item_definition.display_name", $"is at most {MaxDisplayNameLength} characters without control characters; got {definition.DisplayName.Length}."));
        }

        Errors.Require(problems);
        Access.RequireAdmin(context.GetPrincipal(), "PutItemDefinition");
        var stored = new ItemDefinition { ItemId = definition.ItemId, DisplayName = definition.DisplayName, MaxStackSize = definition.MaxStackSize, UpdateTime = Now() };
        var transaction = new StateTransaction().Set(StoreKeys.Item(stored.ItemId), stored.ToByteArray()).IndexAdd(StoreKeys.ItemIds, stored.ItemId);
        await _store.ExecuteAsync(transaction, context.CancellationToken).ConfigureAwait(false);
        return new PutItemDefinitionResponse { ItemDefinition = stored };
    }

    /// <inheritdoc/>
    public async ValueTask<GetItemDefinitionResponse> GetItemDefinitionAsync(GetItemDefinitionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Ids.RequireItem(request.ItemId, "item_id");
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "GetItemDefinition");
        var stored = await _store.GetAsync(StoreKeys.Item(request.ItemId), context.CancellationToken).ConfigureAwait(false)
            ?? throw Errors.NotFound($"Item '{request.ItemId}' is not defined; ListItemDefinitions shows the defined items, PutItemDefinition defines one.");
        return new GetItemDefinitionResponse { ItemDefinition = ItemDefinition.Parser.ParseFrom(stored.Value.Span) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListItemDefinitionsResponse> ListItemDefinitionsAsync(ListItemDefinitionsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var pageSize = PageCursor.Size(request.PageSize, defaultSize: 100, max: 1000);
        Errors.Require(request.ItemIdPrefix.Length <= Ids.MaxItemIdLength && request.ItemIdPrefix.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-'), "item_id_prefix", $"is the start of an item id, e.g. 'item.potion.': lower-case letters, digits, '.', '_' and '-', at most {Ids.MaxItemIdLength} characters.");
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "ListItemDefinitions");
        var query = new StateIndexQuery { Prefix = request.ItemIdPrefix.Length == 0 ? null : request.ItemIdPrefix, PageSize = pageSize };
        var (page, next) = await PageAsync(StoreKeys.ItemIds, query, "items|" + request.ItemIdPrefix, request.PageToken, context.CancellationToken).ConfigureAwait(false);
        var response = new ListItemDefinitionsResponse();
        if (page.Members.Count > 0)
        {
            var read = await _store.GetManyAsync([.. page.Members.Select(StoreKeys.Item)], context.CancellationToken).ConfigureAwait(false);
            response.ItemDefinitions.AddRange(read.Where(e => e is not null).Select(e => ItemDefinition.Parser.ParseFrom(e!.Value.Span)));
        }

        response.NextPageToken = next;
        return response;
    }

    /// <summary>
    /// One page of an index, and the token of the next ("" on the last). Tokens carry the
    /// listing they belong to, so one passed with other filters is INVALID_ARGUMENT.
    /// </summary>
    private async ValueTask<(StateIndexPage Page, string NextToken)> PageAsync(string index, StateIndexQuery query, string listing, string pageToken, CancellationToken cancellationToken)
    {
        var token = PageCursor.Resume(pageToken, listing);
        StateIndexPage page;
        try
        {
            page = await _store.QueryIndexAsync(index, query with { PageToken = token }, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException) when (token is not null)
        {
            throw Errors.InvalidArgument("page_token", "is not a token of this listing; pass next_page_token unchanged with the same filters, or leave it empty.");
        }

        return (page, page.NextPageToken is null ? "" : PageCursor.After(listing, page.NextPageToken));
    }
}

using System.Security.Cryptography;
using System.Text;

namespace GameSystem.Services.Router.Internal;

/// <summary>
/// Where router keeps its state: all of it in one partition, <c>{table}</c>.
/// </summary>
/// <remarks>
/// The routing table is one record (<see cref="Routes"/>, a <see cref="RouteTableRecord"/>),
/// rewritten under its store version by every change, beside the table revision counter
/// (<see cref="Revision"/>), CreateRoute's request ids and the <c>RouteChanged</c> outbox. A
/// table has tens to hundreds of routes (an operator's cut-over plan, not player data) and
/// changes a few times a day, while every instance reads it whole: one record makes a
/// conflict check over all routes, the change and its event one atomic step, gives the
/// changes one total order (the revision, which the events carry so a consumer can tell it
/// missed one), and loads a consistent snapshot in one read. Resolve never reads the store:
/// it answers from the in-memory copy (<see cref="RouteCache"/>), which checks the small
/// counter, not the table, when it wants to know whether it is current.
/// </remarks>
internal static class StoreKeys
{
    /// <summary>The partition of the routing table.</summary>
    public const string TablePartition = "table";

    private const string Table = "router/{" + TablePartition + "}/";

    /// <summary>The routing table, every route in one record.</summary>
    public const string Routes = Table + "routes";

    /// <summary>The table revision (a counter), moved with every change of <see cref="Routes"/>.</summary>
    public const string Revision = Table + "revision";

    /// <summary>Most routes one table holds.</summary>
    public const int MaxRoutes = 2_000;

    // The id is client text of any length and alphabet; its hash is always a valid key.
    public static string Request(string rpc, string requestId) =>
        Table + "request/" + rpc + "/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(requestId)));
}

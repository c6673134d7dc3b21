using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace GameSystem.Gateway.Cutover;

/// <summary>
/// Requests per route and backend on the <c>GameSystem.Gateway</c> meter: <c>gateway.requests</c>
/// (count) and <c>gateway.request.duration</c> (seconds), tagged with the route template, the HTTP
/// method, the backend (<c>backend.id</c>, <c>backend.kind</c> <c>nats</c> or <c>legacy_http</c>) and
/// the response status, so a cutover can be watched as it moves.
/// </summary>
internal sealed class GatewayMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "GameSystem.Gateway";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;

    public GatewayMetrics()
    {
        _requests = _meter.CreateCounter<long>("gateway.requests", "{request}", "Requests answered, by route and backend");
        _duration = _meter.CreateHistogram<double>("gateway.request.duration", "s", "Time to answer a request, by route and backend");
    }

    public void Record(string httpMethod, string route, string backendId, string backendKind, int status, TimeSpan elapsed)
    {
        var tags = new TagList
        {
            { "http.request.method", httpMethod },
            { "http.route", route },
            { "backend.id", backendId },
            { "backend.kind", backendKind },
            { "http.response.status_code", status },
        };
        _requests.Add(1, tags);
        _duration.Record(elapsed.TotalSeconds, tags);
    }

    public void Dispose() => _meter.Dispose();
}

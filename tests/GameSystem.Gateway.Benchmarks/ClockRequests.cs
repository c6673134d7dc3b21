using System.Net;
using System.Text;
using System.Text.Json;

namespace GameSystem.Gateway.Benchmarks;

/// <summary>
/// The load: <c>GET /v1/worlds/{world_id}/clock</c> over HTTP/1.1 with a bearer token, the same
/// request to every side through one <see cref="HttpClient"/>; every answer must be 200 with the
/// clock of the world asked for.
/// </summary>
internal sealed class ClockRequests(HttpClient http, string worldId, IReadOnlyList<string> tokens)
{
    private readonly byte[] _worldId = Encoding.UTF8.GetBytes(worldId);

    /// <summary>Caller <c>i</c>'s call to the side at <paramref name="baseAddress"/>, with player <c>i mod n</c>'s token.</summary>
    public Func<int, Func<ValueTask>> To(Uri baseAddress) => caller =>
    {
        var uri = new Uri(baseAddress, $"/v1/worlds/{worldId}/clock");
        var authorization = "Bearer " + tokens[caller % tokens.Count];
        return async () =>
        {
            var body = await GetAsync(uri, authorization);
            if (!HasWorldId(body))
            {
                throw new InvalidOperationException($"{uri} answered a clock of another world: {Encoding.UTF8.GetString(body)}");
            }
        };
    };

    /// <summary>One request's body, to show what each side sends.</summary>
    public Task<byte[]> SampleAsync(Uri baseAddress) => GetAsync(new Uri(baseAddress, $"/v1/worlds/{worldId}/clock"), "Bearer " + tokens[0]);

    private async Task<byte[]> GetAsync(Uri uri, string authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        return response.StatusCode == HttpStatusCode.OK
            ? body
            : throw new InvalidOperationException($"{uri} answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
    }

    // {"clock": {"worldId": "…", …}}: the property two levels down, compared without decoding to a string.
    private bool HasWorldId(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 2 && reader.ValueTextEquals("worldId"u8))
            {
                return reader.Read() && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(_worldId);
            }
        }

        return false;
    }
}

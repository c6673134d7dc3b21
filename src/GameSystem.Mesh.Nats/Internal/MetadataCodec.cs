using Grpc.Core;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>Call metadata as NATS headers: one header per entry, <c>-bin</c> keys base64.</summary>
internal static class MetadataCodec
{
    /// <summary>
    /// Writes call metadata. A caller's reserved key is an error it can fix; a handler's
    /// reserved trailer (<paramref name="dropReserved"/>) is dropped, since the reply must go out.
    /// </summary>
    public static void Write(Metadata? metadata, NatsHeaders headers, bool dropReserved = false)
    {
        if (metadata is null)
        {
            return;
        }

        foreach (var entry in metadata)
        {
            if (entry.Key == MeshStatus.DetailsTrailer)
            {
                continue;
            }

            if (WireHeaders.IsReserved(entry.Key))
            {
                if (dropReserved)
                {
                    continue;
                }

                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"Metadata key '{entry.Key}' is reserved by the mesh wire protocol."));
            }

            var value = entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value;
            if (headers.TryGetValue(entry.Key, out var existing))
            {
                headers[entry.Key] = Microsoft.Extensions.Primitives.StringValues.Concat(existing, value);
            }
            else
            {
                headers[entry.Key] = value;
            }
        }
    }

    public static Metadata Read(RawHeaders headers)
    {
        Metadata? metadata = null;
        foreach (var (rawName, rawValue) in headers)
        {
            if (WireHeaders.IsReserved(rawName))
            {
                continue;
            }

            metadata ??= [];
            var name = System.Text.Encoding.ASCII.GetString(rawName);
            Add(metadata, name, System.Text.Encoding.UTF8.GetString(rawValue));
        }

        return metadata ?? Metadata.Empty;
    }

    public static Metadata Read(NatsHeaders? headers)
    {
        if (headers is null || headers.Count == 0)
        {
            return Metadata.Empty;
        }

        Metadata? metadata = null;
        foreach (var header in headers)
        {
            if (WireHeaders.IsReserved(header.Key))
            {
                continue;
            }

            foreach (var value in header.Value)
            {
                metadata ??= [];
                Add(metadata, header.Key, value);
            }
        }

        return metadata ?? Metadata.Empty;
    }

    public static void Add(Metadata metadata, string header, string? value)
    {
        var key = header.ToLowerInvariant();
        try
        {
            if (key.EndsWith(Metadata.BinaryHeaderSuffix, StringComparison.Ordinal))
            {
                if (!TryFromBase64(value, out var bytes))
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument,
                        $"Metadata '{key}' is not valid base64 (keys ending in -bin carry base64 binary values)."));
                }

                metadata.Add(key, bytes);
            }
            else if (!string.IsNullOrEmpty(value))
            {
                metadata.Add(key, value);
            }
        }
        catch (ArgumentException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"Header '{header}' is not valid gRPC metadata ({ex.Message})."));
        }
    }

    private static bool TryFromBase64(string? value, out byte[] bytes)
    {
        bytes = [];
        if (value is null)
        {
            return false;
        }

        // gRPC peers may omit base64 padding.
        var padded = (value.Length % 4) switch
        {
            2 => value + "==",
            3 => value + "=",
            _ => value,
        };
        var buffer = new byte[padded.Length];
        if (!Convert.TryFromBase64String(padded, buffer, out var written))
        {
            return false;
        }

        bytes = buffer[..written];
        return true;
    }
}

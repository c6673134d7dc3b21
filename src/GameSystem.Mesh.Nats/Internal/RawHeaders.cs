using System.Text;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// A NATS header block (<c>NATS/1.0[ status]\r\nName: value\r\n…\r\n\r\n</c>) read in place:
/// looking a header up allocates only the value found, so the hot path skips the
/// dictionary NATS.Net would build for every message.
/// </summary>
internal readonly struct RawHeaders(ReadOnlyMemory<byte> block)
{
    private static readonly byte[] Version = "NATS/1.0"u8.ToArray();

    public bool IsEmpty => block.IsEmpty;

    /// <summary>The status on the first line (503 = no responders), or 0.</summary>
    public int Status
    {
        get
        {
            var span = block.Span;
            var end = span.IndexOf("\r\n"u8);
            if (end < 0 || !span.StartsWith(Version))
            {
                return 0;
            }

            var rest = span[Version.Length..end].Trim((byte)' ');
            var digits = rest.IndexOf((byte)' ') is var space and >= 0 ? rest[..space] : rest;
            return int.TryParse(Encoding.ASCII.GetString(digits), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var status) ? status : 0;
        }
    }

    public bool TryGetValue(string name, out string value)
    {
        foreach (var (headerName, headerValue) in new Enumerator(block))
        {
            if (Equals(headerName, name))
            {
                value = Encoding.UTF8.GetString(headerValue);
                return true;
            }
        }

        value = string.Empty;
        return false;
    }

    public Enumerator GetEnumerator() => new(block);

    /// <summary>ASCII case-insensitive comparison of a header name with a known name.</summary>
    public static bool Equals(ReadOnlySpan<byte> headerName, string name)
    {
        if (headerName.Length != name.Length)
        {
            return false;
        }

        for (var i = 0; i < headerName.Length; i++)
        {
            var a = headerName[i];
            var b = name[i];
            if (a != b && (a | 0x20) != (b | 0x20))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>One header line.</summary>
    public readonly ref struct Entry(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        public ReadOnlySpan<byte> Name { get; } = name;

        public ReadOnlySpan<byte> Value { get; } = value;

        public void Deconstruct(out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
        {
            name = Name;
            value = Value;
        }
    }

    /// <summary>Walks the header lines after the version line.</summary>
    public ref struct Enumerator
    {
        private ReadOnlySpan<byte> _rest;

        public Enumerator(ReadOnlyMemory<byte> block)
        {
            var span = block.Span;
            var first = span.IndexOf("\r\n"u8);
            _rest = first < 0 ? default : span[(first + 2)..];
            Current = default;
        }

        public Entry Current { get; private set; }

        public bool MoveNext()
        {
            while (!_rest.IsEmpty)
            {
                var end = _rest.IndexOf("\r\n"u8);
                var line = end < 0 ? _rest : _rest[..end];
                _rest = end < 0 ? default : _rest[(end + 2)..];
                if (line.IsEmpty)
                {
                    _rest = default;
                    return false;
                }

                var colon = line.IndexOf((byte)':');
                if (colon <= 0)
                {
                    continue;
                }

                Current = new Entry(line[..colon].Trim((byte)' '), line[(colon + 1)..].Trim((byte)' '));
                return true;
            }

            return false;
        }

        public readonly Enumerator GetEnumerator() => this;
    }
}

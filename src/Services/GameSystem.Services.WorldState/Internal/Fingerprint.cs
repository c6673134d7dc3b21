using System.Collections;
using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace GameSystem.Services.WorldState.Internal;

/// <summary>
/// SHA-256 of a message with every map in key order: protobuf writes map entries in the order
/// they were added, so two encodings of one request (a JSON client's, a retry's) could differ
/// byte-wise while meaning the same.
/// </summary>
internal static class Fingerprint
{
    public static ByteString Of(IMessage message)
    {
        var canonical = Copy(message);
        Sort(canonical);
        return ByteString.CopyFrom(SHA256.HashData(canonical.ToByteArray()));
    }

    private static IMessage Copy(IMessage message)
    {
        var copy = (IMessage)Activator.CreateInstance(message.GetType())!;
        copy.MergeFrom(message.ToByteString());
        return copy;
    }

    private static void Sort(IMessage message)
    {
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            if (field.IsMap)
            {
                var map = (IDictionary)field.Accessor.GetValue(message);
                var entries = new List<DictionaryEntry>(map.Count);
                var enumerator = map.GetEnumerator();
                while (enumerator.MoveNext())
                {
                    entries.Add(enumerator.Entry);
                }

                entries.Sort((a, b) => string.CompareOrdinal(a.Key.ToString(), b.Key.ToString()));
                map.Clear();
                foreach (var entry in entries)
                {
                    if (entry.Value is IMessage value)
                    {
                        Sort(value);
                    }

                    map[entry.Key] = entry.Value;
                }
            }
            else if (field.FieldType == FieldType.Message)
            {
                if (field.IsRepeated)
                {
                    foreach (var item in (IList)field.Accessor.GetValue(message))
                    {
                        Sort((IMessage)item);
                    }
                }
                else if (field.Accessor.GetValue(message) is IMessage inner)
                {
                    Sort(inner);
                }
            }
        }
    }
}

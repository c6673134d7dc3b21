using System.Globalization;
using GameSystem.Common.V1;
using GameSystem.LanguageSystem.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using LocaleChangedPayload = GameSystem.LanguageSystem.V1.LocaleChanged;
using SpeechStyleChangedPayload = GameSystem.LanguageSystem.V1.SpeechStyleChanged;
using StringTableChangedPayload = GameSystem.LanguageSystem.V1.StringTableChanged;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// The domain events of the contract, as published through the outbox. Each id is a stream
/// and a number that stream never repeats (a table's revision, the registry's or the styles'
/// revision), so a redelivered or re-sent event carries the same id and event-bus keeps one.
/// The subject is the resource's name as its HTTP route spells it.
/// </summary>
internal static class ChangeEvents
{
    public const string LocaleChangedType = "language.locale.changed";
    public const string StringTableChangedType = "language.string_table.changed";
    public const string SpeechStyleChangedType = "language.speech_style.changed";

    /// <summary><c>language.locale.changed</c>: <paramref name="registryRevision"/> is the registry's revision after the change.</summary>
    public static DomainEvent LocaleChanged(string tag, ChangeType change, long version, long registryRevision, Timestamp at) =>
        Event(
            Id("locales", registryRevision),
            LocaleChangedType,
            "locales/" + tag,
            at,
            new LocaleChangedPayload { Locale = tag, ChangeType = change, Version = version, OccurredAt = at });

    /// <summary><c>language.string_table.changed</c>, once per write call that changed the table.</summary>
    public static DomainEvent StringTableChanged(string locale, IEnumerable<string> keys, ChangeType change, long tableRevision, Timestamp at)
    {
        var payload = new StringTableChangedPayload { Locale = locale, ChangeType = change, TableRevision = tableRevision, OccurredAt = at };
        payload.Keys.AddRange(keys);
        return Event(Id("tables/" + locale, tableRevision), StringTableChangedType, "locales/" + locale + "/strings", at, payload);
    }

    /// <summary><c>language.speech_style.changed</c>: <paramref name="stylesRevision"/> is the styles' revision after the change.</summary>
    public static DomainEvent SpeechStyleChanged(string styleId, ChangeType change, long version, long stylesRevision, Timestamp at) =>
        Event(
            Id("speech-styles", stylesRevision),
            SpeechStyleChangedType,
            "speech-styles/" + styleId,
            at,
            new SpeechStyleChangedPayload { StyleId = styleId, ChangeType = change, Version = version, OccurredAt = at });

    private static string Id(string stream, long number) => string.Create(CultureInfo.InvariantCulture, $"language-system/{stream}/{number}");

    private static DomainEvent Event(string id, string type, string subject, Timestamp at, IMessage payload) => new()
    {
        EventId = id,
        Type = type,
        Subject = subject,
        OccurredAt = at,
        Payload = payload.ToByteString(),
        PayloadType = payload.Descriptor.FullName,
    };
}

namespace GameSystem.Services.EventBus.Internal;

/// <summary>
/// What a subscription asks for, split between JetStream and event-bus: JetStream filters on
/// one subject (nats-server 2.9 takes a single filter subject per consumer), so one type
/// filter becomes the consumer's filter subject, and several are matched here, as is the
/// event's <c>subject</c>, which is not part of the NATS subject.
/// </summary>
internal sealed class EventFilter
{
    private readonly string[]? _types;
    private readonly string _subject;

    public EventFilter(BusStream stream, IReadOnlyList<string> typeFilters, string subjectFilter)
    {
        _subject = subjectFilter;
        if (typeFilters.Count == 0 || typeFilters.Contains(">"))
        {
            FilterSubject = stream.AllSubjects;
        }
        else if (typeFilters.Count == 1)
        {
            FilterSubject = stream.SubjectFor(typeFilters[0]);

            // Matched here too: an ordered consumer sends its filter as filter_subjects, which
            // nats-server 2.9 ignores, so there the filter subject only narrows durable consumers.
            _types = [typeFilters[0]];
        }
        else
        {
            FilterSubject = stream.AllSubjects;
            _types = [.. typeFilters];
        }
    }

    /// <summary>The JetStream consumer's filter subject.</summary>
    public string FilterSubject { get; }

    /// <summary>True when every event of the stream is wanted, so nothing is matched here.</summary>
    public bool IsExact => _types is null && _subject.Length == 0;

    /// <summary>True when an event JetStream delivered (type <paramref name="type"/>) is wanted.</summary>
    public bool Matches(string type, string subject)
    {
        if (_subject.Length > 0 && !string.Equals(_subject, subject, StringComparison.Ordinal))
        {
            return false;
        }

        if (_types is null)
        {
            return true;
        }

        foreach (var pattern in _types)
        {
            if (EventTypes.Matches(pattern, type))
            {
                return true;
            }
        }

        return false;
    }
}

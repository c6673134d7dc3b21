using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace GameSystem.Events.Tests;

/// <summary>
/// Listens to the GameSystem.Events meter for one outbox or consumer (the meter is shared by
/// every test of the process, so it filters by tag): counter sums and the last gauge values.
/// </summary>
internal sealed class MetricsRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly string _tag;
    private readonly string _value;
    private readonly ConcurrentDictionary<string, double> _sums = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, double> _last = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<DateTime>> _times = new(StringComparer.Ordinal);

    public MetricsRecorder(string tag, string value)
    {
        _tag = tag;
        _value = value;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == EventsTelemetry.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>The sum of a counter's measurements.</summary>
    public double Sum(string instrument) => _sums.GetValueOrDefault(instrument);

    /// <summary>When each measurement of <paramref name="instrument"/> was recorded, in order (taken in the listener, not when a test polls).</summary>
    public IReadOnlyList<DateTime> Times(string instrument) => _times.TryGetValue(instrument, out var times) ? [.. times] : [];

    /// <summary>Collects the gauges now and returns the last value of <paramref name="instrument"/> (null when never observed).</summary>
    public double? Gauge(string instrument)
    {
        _listener.RecordObservableInstruments();
        return _last.TryGetValue(instrument, out var value) ? value : null;
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == _tag && Equals(tag.Value, _value))
            {
                _sums.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value);
                _times.GetOrAdd(instrument.Name, _ => new ConcurrentQueue<DateTime>()).Enqueue(DateTime.UtcNow);
                _last[instrument.Name] = value;
                return;
            }
        }
    }
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace GameSystem.Events.Tests;

/// <summary>Keeps every log entry written through it, to assert what an operator would read.</summary>
internal sealed class LogRecorder : ILoggerProvider
{
    private readonly ConcurrentQueue<Entry> _entries = new();

    public IReadOnlyList<Entry> Entries => [.. _entries];

    public int Count(int eventId) => _entries.Count(e => e.EventId == eventId);

    public ILogger<T> For<T>() => new Logger<T>(this);

    public ILogger CreateLogger(string categoryName) => new Recorder(this);

    public void Dispose()
    {
    }

    public sealed record Entry(int EventId, LogLevel Level, string Message, Exception? Exception);

    private sealed class Recorder(LogRecorder owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue(new Entry(eventId.Id, logLevel, formatter(state, exception), exception));
    }

    private sealed class Logger<T>(LogRecorder owner) : ILogger<T>
    {
        private readonly Recorder _inner = new(owner);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _inner.Log(logLevel, eventId, state, exception, formatter);
    }
}

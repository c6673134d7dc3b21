using GameSystem.Testing;

[assembly: AssemblyFixture(typeof(NatsServerFixture))]

// The mesh's and the store's instruments are static, and every MeterProvider in the process sees
// every call: tests running side by side would count each other's calls.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

using GameSystem.Testing;

[assembly: AssemblyFixture(typeof(NatsServerFixture))]

using GameSystem.Testing;

[assembly: AssemblyFixture(typeof(NatsServerFixture))]
[assembly: AssemblyFixture(typeof(RedisServerFixture))]
[assembly: AssemblyFixture(typeof(RedisClusterFixture))]

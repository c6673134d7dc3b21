using GameSystem.Testing;

[assembly: AssemblyFixture(typeof(RedisServerFixture))]
[assembly: AssemblyFixture(typeof(RedisClusterFixture))]

using GameSystem.Testing;

[assembly: AssemblyFixture(typeof(RedisServerFixture))]

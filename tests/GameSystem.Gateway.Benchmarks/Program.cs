using GameSystem.Gateway.Benchmarks;
using GameSystem.Mesh.Benchmarks;

// eng/benchmark.sh gateway [options]: the script passes the benchmark's name on; the options
// are BenchmarkSettings' (--warmup, --window, --rounds, --concurrency, --breakdown).
var options = args is ["gateway", .. var rest] ? rest : args;
return await GatewayBenchmark.RunAsync(BenchmarkSettings.Parse(options));

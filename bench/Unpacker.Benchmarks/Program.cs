using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Unpacker.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

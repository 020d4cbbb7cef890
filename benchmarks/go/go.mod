module gogoroutines/benchmarks

go 1.23

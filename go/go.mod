module gogoroutines.dev/go

go 1.23

module gogoroutines

go 1.23

// A Go module of task kinds for gogoroutines: see README.md.
module example.com/wordcount

go 1.23

require gogoroutines.dev/go v0.0.0

// gogoroutines.dev/go is published nowhere. This replace serves `go test` and
// `go vet` here, in the gogoroutines repository; a build of the archive
// (GOGOROUTINES_GO_KINDS, gogoroutines_add_go_archive) uses a go.work of its
// own that points at the gogoroutines sources it builds with, wherever this
// module is.
replace gogoroutines.dev/go => ../../go

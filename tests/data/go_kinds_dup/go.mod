// A Go module that registers a second kind named "echo", for
// tests/test_go_kinds.py: a runtime of an archive with it must refuse to start,
// naming the kind and both packages. No replace: the build's go.work resolves
// gogoroutines.dev/go.
module example.com/dupecho

go 1.23

require gogoroutines.dev/go v0.0.0

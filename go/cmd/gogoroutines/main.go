// Command gogoroutines is the package main of the Go archive that the C++
// core and the Python module link (go build -buildmode=c-archive): the C ABI
// and the built-in task kinds, by blank import. A build with user kinds
// generates a main like this one that imports them too (see
// cmake/GogoroutinesGoArchive.cmake).
package main

import (
	_ "gogoroutines.dev/go/cabi"
	_ "gogoroutines.dev/go/kinds/all"
)

func main() {}

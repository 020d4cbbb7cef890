// Package all registers every built-in task kind: import it for its side
// effect, as the archive's package main does.
package all

import (
	// Each package registers its kinds in init.
	_ "gogoroutines.dev/go/kinds/echo"
	_ "gogoroutines.dev/go/kinds/exec"
	_ "gogoroutines.dev/go/kinds/file"
	_ "gogoroutines.dev/go/kinds/gzip"
	_ "gogoroutines.dev/go/kinds/hash"
	_ "gogoroutines.dev/go/kinds/http"
	_ "gogoroutines.dev/go/kinds/seed"
	_ "gogoroutines.dev/go/kinds/sleep"
)

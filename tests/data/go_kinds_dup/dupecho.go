// Package dupecho registers "echo", a name the built-in kinds use already.
package dupecho

import (
	"context"

	"gogoroutines.dev/go/kind"
)

func init() {
	kind.Register(&kind.Kind{
		Name: "echo",
		Doc:  "A second echo: registering it must fail.",
		Prepare: func(*kind.Args) (kind.Work, error) {
			return func(context.Context) (kind.Result, error) { return kind.Result{}, nil }, nil
		},
	})
}

// Package echo registers the echo kind, which hands its data back.
package echo

import (
	"context"

	"gogoroutines.dev/go/kind"
)

func init() {
	kind.Register(&kind.Kind{
		Name:   "echo",
		Doc:    "Completes at once with its `data` argument, unchanged.",
		Params: []kind.Param{{Name: "data", Type: kind.Data, Required: true, Doc: "the payload to return"}},
		Inline: true,
		Prepare: func(a *kind.Args) (kind.Work, error) {
			data := a.Data("data")
			if err := a.Err(); err != nil {
				return nil, err
			}
			return func(context.Context) (kind.Result, error) {
				return kind.Result{Data: data}, nil
			}, nil
		},
	})
}

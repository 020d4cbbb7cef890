package main

import "context"

func init() {
	params := []Param{{Name: "data", Type: "str | bytes", Required: true, Doc: "the payload to return"}}
	register(&Kind{
		Name:   "echo",
		Doc:    "Completes at once with its `data` argument, unchanged.",
		Params: params,
		Inline: true,
		Prepare: func(a *Args) (Work, error) {
			data, err := a.RequiredData("data")
			if err != nil {
				return nil, err
			}
			return func(context.Context) (Result, error) {
				return Result{Data: data}, nil
			}, nil
		},
	})
}

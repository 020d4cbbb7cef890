package main

import "context"

func init() {
	params := []Param{{Name: "seconds", Type: "float", Required: true, Doc: "how long to sleep, >= 0"}}
	register(&Kind{
		Name:   "sleep",
		Doc:    "Sleeps for `seconds`, then completes with an empty result.",
		Params: params,
		Prepare: func(a *Args) (Work, error) {
			if !a.Present("seconds") {
				return nil, a.errorf("seconds", "is required")
			}
			d, err := a.Seconds("seconds", 0)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) (Result, error) {
				return Result{}, sleepCtx(ctx, d)
			}, nil
		},
	})
}

package main

import "time"

func init() {
	params := []Param{{Name: "seconds", Type: "float", Required: true, Doc: "how long to sleep, >= 0"}}
	register(&Kind{
		Name:   "sleep",
		Doc:    "Sleeps for `seconds`, then completes with an empty result.",
		Params: params,
		Timer: func(a *Args) (time.Duration, Result, error) {
			if !a.Present("seconds") {
				return 0, Result{}, a.errorf("seconds", "is required")
			}
			d, err := a.Seconds("seconds", 0)
			return d, Result{}, err
		},
	})
}

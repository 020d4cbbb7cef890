// Package sleep registers the sleep kind: a timer, with no goroutine.
package sleep

import (
	"time"

	"gogoroutines.dev/go/kind"
)

func init() {
	kind.Register(&kind.Kind{
		Name:   "sleep",
		Doc:    "Sleeps for `seconds`, then completes with an empty result.",
		Params: []kind.Param{{Name: "seconds", Type: kind.Number, Required: true, Doc: "how long to sleep, >= 0"}},
		Timer: func(a *kind.Args) (time.Duration, kind.Result, error) {
			return a.Seconds("seconds"), kind.Result{}, a.Err()
		},
	})
}

// Package seed registers the three task kinds of the PHP extension that
// gogoroutines ports (goroutine, task, delayed), with its delays and result
// strings unchanged.
package seed

import (
	"fmt"
	"time"

	"gogoroutines.dev/go/kind"
)

func init() {
	kind.Register(&kind.Kind{
		Name: "goroutine",
		Doc:  "The PHP extension's go_start_goroutine: completes after 100 ms.",
		Timer: func(a *kind.Args) (time.Duration, kind.Result, error) {
			return 100 * time.Millisecond, kind.Result{Data: []byte("Goroutine completed successfully!")}, nil
		},
	})

	kind.Register(&kind.Kind{
		Name:   "task",
		Doc:    "The PHP extension's go_start_goroutine_with_task: completes after 200 ms.",
		Params: []kind.Param{{Name: "task", Type: kind.String, Required: true, Doc: "a description of the task"}},
		Timer: func(a *kind.Args) (time.Duration, kind.Result, error) {
			task := a.Str("task")
			return 200 * time.Millisecond, kind.Result{Data: []byte("Task '" + task + "' completed!")}, a.Err()
		},
	})

	kind.Register(&kind.Kind{
		Name:   "delayed",
		Doc:    "The PHP extension's go_start_delayed: completes after delay_ms milliseconds.",
		Params: []kind.Param{{Name: "delay_ms", Type: kind.Int, Required: true, Doc: "milliseconds to wait, >= 0"}},
		Timer: func(a *kind.Args) (time.Duration, kind.Result, error) {
			d := a.Milliseconds("delay_ms")
			msg := fmt.Sprintf("Callback executed after %dms", d.Milliseconds())
			return d, kind.Result{Data: []byte(msg)}, a.Err()
		},
	})
}

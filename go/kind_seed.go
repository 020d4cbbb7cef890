package main

import (
	"fmt"
	"time"
)

// The three task kinds of the PHP extension this project ports, with its
// delays and result strings unchanged.

func init() {
	register(&Kind{
		Name: "goroutine",
		Doc:  "The seed's go_start_goroutine: completes after 100 ms.",
		Timer: func(a *Args) (time.Duration, Result, error) {
			return 100 * time.Millisecond, Result{Data: []byte("Goroutine completed successfully!")}, nil
		},
	})

	taskParams := []Param{{Name: "task", Type: "str", Required: true, Doc: "a description of the task"}}
	register(&Kind{
		Name:   "task",
		Doc:    "The seed's go_start_goroutine_with_task: completes after 200 ms.",
		Params: taskParams,
		Timer: func(a *Args) (time.Duration, Result, error) {
			task, err := a.RequiredStr("task")
			if err != nil {
				return 0, Result{}, err
			}
			return 200 * time.Millisecond, Result{Data: []byte("Task '" + task + "' completed!")}, nil
		},
	})

	delayedParams := []Param{{Name: "delay_ms", Type: "int", Required: true, Doc: "milliseconds to wait, >= 0"}}
	register(&Kind{
		Name:   "delayed",
		Doc:    "The seed's go_start_delayed: completes after delay_ms milliseconds.",
		Params: delayedParams,
		Timer: func(a *Args) (time.Duration, Result, error) {
			if !a.Present("delay_ms") {
				return 0, Result{}, a.errorf("delay_ms", "is required")
			}
			ms, d, err := a.Milliseconds("delay_ms", 0)
			if err != nil {
				return 0, Result{}, err
			}
			return d, Result{Data: []byte(fmt.Sprintf("Callback executed after %dms", ms))}, nil
		},
	})
}

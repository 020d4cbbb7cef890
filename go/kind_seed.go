package main

import (
	"context"
	"fmt"
	"time"
)

// The three task kinds of the PHP extension this project ports, with its
// delays and result strings unchanged.

func init() {
	register(&Kind{
		Name: "goroutine",
		Doc:  "The seed's go_start_goroutine: completes after 100 ms.",
		Prepare: func(a *Args) (Work, error) {
			return func(ctx context.Context) (Result, error) {
				if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
					return Result{}, err
				}
				return Result{Data: []byte("Goroutine completed successfully!")}, nil
			}, nil
		},
	})

	taskParams := []Param{{Name: "task", Type: "str", Required: true, Doc: "a description of the task"}}
	register(&Kind{
		Name:   "task",
		Doc:    "The seed's go_start_goroutine_with_task: completes after 200 ms.",
		Params: taskParams,
		Prepare: func(a *Args) (Work, error) {
			task, err := a.RequiredStr("task")
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) (Result, error) {
				if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
					return Result{}, err
				}
				return Result{Data: []byte("Task '" + task + "' completed!")}, nil
			}, nil
		},
	})

	delayedParams := []Param{{Name: "delay_ms", Type: "int", Required: true, Doc: "milliseconds to wait, >= 0"}}
	register(&Kind{
		Name:   "delayed",
		Doc:    "The seed's go_start_delayed: completes after delay_ms milliseconds.",
		Params: delayedParams,
		Prepare: func(a *Args) (Work, error) {
			if !a.Present("delay_ms") {
				return nil, a.errorf("delay_ms", "is required")
			}
			ms, d, err := a.Milliseconds("delay_ms", 0)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) (Result, error) {
				if err := sleepCtx(ctx, d); err != nil {
					return Result{}, err
				}
				return Result{Data: []byte(fmt.Sprintf("Callback executed after %dms", ms))}, nil
			}, nil
		},
	})
}

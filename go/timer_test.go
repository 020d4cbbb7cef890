package main

import (
	"runtime"
	"testing"
	"time"
)

func TestTimerTaskCancelFreesItsSlot(t *testing.T) {
	rt := NewRuntime(1)
	defer rt.Close()
	sleeper := mustSpawn(t, rt, "sleep", []Value{vFloat("seconds", 60)}, 0)
	echo := mustSpawn(t, rt, "echo", []Value{vStr("data", "next")}, 0)
	if st, _ := rt.Status(echo); st != StateQueued {
		t.Fatalf("echo behind a running sleeper is %v, want queued", st)
	}
	if ok, _ := rt.Cancel(sleeper); !ok {
		t.Fatal("cancel of a sleeping task returned false")
	}
	task, state, err := rt.Wait(echo, 5*time.Second)
	if err != nil || state != StateCompleted || string(task.result.Data) != "next" {
		t.Fatalf("queued echo after the cancel: %v %v", state, err)
	}
}

func TestTimerTaskTimeoutAndResult(t *testing.T) {
	rt := NewRuntime(0)
	defer rt.Close()
	late := mustSpawn(t, rt, "delayed", []Value{vInt("delay_ms", 60000)}, 20*time.Millisecond)
	task, state, _ := rt.Wait(late, 5*time.Second)
	if state != StateFailed || task.err == nil || task.err.Code != FailureTimeout {
		t.Fatalf("delayed past its timeout: %v %+v", state, task.err)
	}
	onTime := mustSpawn(t, rt, "delayed", []Value{vInt("delay_ms", 10)}, time.Second)
	task, state, _ = rt.Wait(onTime, 5*time.Second)
	if state != StateCompleted || string(task.result.Data) != "Callback executed after 10ms" {
		t.Fatalf("delayed within its timeout: %v %q", state, task.result.Data)
	}
}

func TestSleepersHoldNoGoroutines(t *testing.T) {
	rt := NewRuntime(0)
	defer rt.Close()
	before := runtime.NumGoroutine()
	for i := 0; i < 10000; i++ {
		mustSpawn(t, rt, "sleep", []Value{vFloat("seconds", 60)}, 0)
	}
	if after := runtime.NumGoroutine(); after-before > 100 {
		t.Fatalf("10,000 sleeping tasks added %d goroutines", after-before)
	}
	if s := rt.Stats(); s.Active != 10000 {
		t.Fatalf("stats %+v", s)
	}
}

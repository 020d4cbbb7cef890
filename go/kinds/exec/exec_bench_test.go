package exec

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gogoroutines.dev/go/engine"
	"gogoroutines.dev/go/internal/testkit"
	"gogoroutines.dev/go/kind"
)

// Benchmarks of starting and reaping short programs at concurrency 16, the
// shape of benchmarks/subprocesses.py: the exec kind through a runtime, next
// to a minimal os/exec loop and bare syscall.ForkExec as references.
//
//	go test -run '^$' -bench Exec -benchtime 2000x

const execBenchConcurrency = 16

// BenchmarkExecTask runs `true` as exec tasks of a runtime limited to 16
// running tasks, stdout and stderr captured and the exit code checked.
func BenchmarkExecTask(b *testing.B) { benchExecTask(b, false) }

// BenchmarkExecTaskEnv passes the whole environment with every task, as the
// Python package does (os.environ merged with the task's env).
func BenchmarkExecTaskEnv(b *testing.B) { benchExecTask(b, true) }

func benchExecTask(b *testing.B, withEnv bool) {
	rt := testkit.NewRuntime(b, execBenchConcurrency)
	defer rt.Close()
	var env []kind.Value
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			env = append(env, testkit.Str(k, v))
		}
	}
	items := make([][]kind.Value, b.N)
	for i := range items {
		items[i] = []kind.Value{testkit.List("argv", testkit.Str("", "true"))}
		if withEnv {
			items[i] = append(items[i], testkit.Map("env", env...))
		}
	}
	b.ResetTimer()
	defer reportCPU(b)()
	ids, err := rt.SpawnMany("exec", items, 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, id := range ids {
		task, state, err := rt.Wait(id, time.Minute)
		if err != nil || state != engine.StateCompleted {
			b.Fatalf("task %d: state %v, %v, %v", id, state, err, task.Err())
		}
		rt.Release(id)
	}
}

// reportCPU starts counting CPU time; the function it returns reports it per
// op: cpu-ns/op for this process and its reaped children together, and
// parent-cpu-ns/op for this process alone. On a loaded machine CPU time per
// run varies less than wall time, and with every core busy it is what
// bounds the rate of runs.
func reportCPU(b *testing.B) func() {
	self0, children0 := cpuTimes()
	return func() {
		self1, children1 := cpuTimes()
		n := float64(b.N)
		b.ReportMetric(float64(self1-self0+children1-children0)/n, "cpu-ns/op")
		b.ReportMetric(float64(self1-self0)/n, "parent-cpu-ns/op")
	}
}

func cpuTimes() (self, children time.Duration) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	children = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return self, children
}

// runConcurrently calls once b.N times from 16 goroutines.
func runConcurrently(b *testing.B, once func() error) {
	var wg sync.WaitGroup
	next := make(chan struct{})
	errs := make(chan error, execBenchConcurrency)
	for w := 0; w < execBenchConcurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				if err := once(); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// BenchmarkExecOSExec is the least os/exec can do for the same job.
func BenchmarkExecOSExec(b *testing.B) {
	runConcurrently(b, func() error {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command("true")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		return cmd.Run()
	})
}

// BenchmarkExecForkExec is bare fork+exec+wait with no pipes: the floor.
func BenchmarkExecForkExec(b *testing.B) {
	path, err := exec.LookPath("true")
	if err != nil {
		b.Skip(err)
	}
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}}
	runConcurrently(b, func() error {
		pid, err := syscall.ForkExec(path, []string{"true"}, attr)
		if err != nil {
			return err
		}
		var ws syscall.WaitStatus
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		return err
	})
}

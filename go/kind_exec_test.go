package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The exec kind's behaviour as the Go side sees it (tests/test_kind_exec.py
// covers it through Python): output, exit codes, stdin, environment, limits,
// and that every run's processes are killed and reaped.

func argv(args ...string) Value {
	items := make([]Value, len(args))
	for i, a := range args {
		items[i] = vStr("", a)
	}
	return Value{Name: "argv", Type: TypeList, Items: items}
}

func envOf(kv ...string) Value {
	items := make([]Value, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		items = append(items, vStr(kv[i], kv[i+1]))
	}
	return Value{Name: "env", Type: TypeMap, Items: items}
}

// runExec runs an exec task to its end and returns it.
func runExec(t *testing.T, values ...Value) *Task {
	t.Helper()
	rt := newRT(t, 0)
	task, _, err := rt.SpawnTask("exec", values, 0)
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	if _, _, err := rt.Wait(task.ID, hangGuard); err != nil {
		t.Fatalf("wait: %v", err)
	}
	return task
}

func metaInt(t *testing.T, task *Task, key string) int {
	t.Helper()
	v, ok := execMeta(task)[key].(int)
	if !ok {
		t.Fatalf("meta[%q] = %#v, want an int", key, execMeta(task)[key])
	}
	return v
}

// assertReaped checks that the task's program left no zombie behind.
func assertReaped(t *testing.T, task *Task) {
	t.Helper()
	pid := metaInt(t, task, "pid")
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); err != syscall.ECHILD {
		t.Fatalf("pid %d was not reaped: wait4 = %v", pid, err)
	}
}

// groupGone waits until no process is left in the process group.
func groupGone(pgid int) bool {
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(-pgid, 0); err == syscall.ESRCH {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func TestExecStdoutStderrAndMeta(t *testing.T) {
	task := runExec(t, argv("sh", "-c", "echo out; echo err >&2"))
	if task.err != nil || string(task.result.Data) != "out\n" {
		t.Fatalf("result %q, %v", task.result.Data, task.err)
	}
	if code := metaInt(t, task, "exit_code"); code != 0 {
		t.Fatalf("exit_code %d", code)
	}
	if execMeta(task)["stderr"] != "err\n" {
		t.Fatalf("stderr %q", execMeta(task)["stderr"])
	}
	if e, _ := execMeta(task)["elapsed"].(float64); e <= 0 {
		t.Fatalf("elapsed %v", execMeta(task)["elapsed"])
	}
	assertReaped(t, task)
}

func TestExecRunsInItsOwnProcessGroupUnderItsGivenName(t *testing.T) {
	task := runExec(t, argv("sh", "-c", `echo "$0" $(ps -o pgid= -p $$)`))
	fields := strings.Fields(string(task.result.Data))
	if task.err != nil || len(fields) != 2 {
		t.Fatalf("result %q, %v", task.result.Data, task.err)
	}
	if fields[0] != "sh" {
		t.Fatalf("argv[0] %q", fields[0])
	}
	if want := metaInt(t, task, "pid"); fields[1] != strconv.Itoa(want) {
		t.Fatalf("process group %s, want its own (%d)", fields[1], want)
	}
}

func TestExecStdin(t *testing.T) {
	data := randomBytes(4<<20 + 3) // more than a pipe holds, both ways at once
	task := runExec(t, argv("cat"), vBytes("stdin", data))
	if task.err != nil || !bytes.Equal(task.result.Data, data) {
		t.Fatalf("cat returned %d bytes, %v", len(task.result.Data), task.err)
	}
	// Without stdin, the program reads end of file at once.
	task = runExec(t, argv("cat"))
	if task.err != nil || len(task.result.Data) != 0 {
		t.Fatalf("cat without stdin: %q, %v", task.result.Data, task.err)
	}
	// A program that does not read its stdin is not an error.
	task = runExec(t, argv("true"), vBytes("stdin", make([]byte, 8<<20)))
	if task.err != nil {
		t.Fatalf("true with stdin: %v", task.err)
	}
}

func TestExecExitCodes(t *testing.T) {
	task := runExec(t, argv("sh", "-c", "echo why >&2; exit 3"))
	if task.err == nil || !strings.Contains(task.err.Message, "exited with code 3") ||
		!strings.Contains(task.err.Message, "why") {
		t.Fatalf("check: %v", task.err)
	}
	task = runExec(t, argv("sh", "-c", "exit 3"), vBool("check", false))
	if task.err != nil || metaInt(t, task, "exit_code") != 3 {
		t.Fatalf("without check: %v, meta %v", task.err, execMeta(task))
	}
	task = runExec(t, argv("sh", "-c", "kill -KILL $$"), vBool("check", false))
	if code := metaInt(t, task, "exit_code"); task.err != nil || code != -int(syscall.SIGKILL) {
		t.Fatalf("killed by a signal: exit_code %d, %v", code, task.err)
	}
	assertReaped(t, task)
}

func TestExecProgramsThatCannotRun(t *testing.T) {
	task := runExec(t, argv("no-such-program-exec-test"), vBool("check", false))
	if task.err == nil || !strings.Contains(task.err.Message, `"no-such-program-exec-test" not found`) {
		t.Fatalf("missing program: %v", task.err)
	}
	script := filepath.Join(t.TempDir(), "script.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho ran\n"), 0o644)
	task = runExec(t, argv(script))
	if task.err == nil || !strings.Contains(task.err.Message, "fork/exec "+script+": permission denied") {
		t.Fatalf("not executable: %v", task.err)
	}
	task = runExec(t, argv("true"), vStr("cwd", filepath.Join(t.TempDir(), "missing")))
	if task.err == nil || !strings.Contains(task.err.Message, "missing") {
		t.Fatalf("missing cwd: %v", task.err)
	}
}

func TestExecEnvAndCwd(t *testing.T) {
	dir := t.TempDir()
	// Without env the program gets Go's environment, with PWD naming cwd.
	task := runExec(t, argv("sh", "-c", `pwd; echo "$PWD"; echo "${HOME+set}"`), vStr("cwd", dir))
	real, _ := filepath.EvalSymlinks(dir)
	want := real + "\n" + dir + "\n"
	if os.Getenv("HOME") != "" {
		want += "set\n"
	} else {
		want += "\n"
	}
	if task.err != nil || string(task.result.Data) != want {
		t.Fatalf("got %q, want %q (%v)", task.result.Data, want, task.err)
	}
	// With env the program gets exactly that, and PATH is searched in it.
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "exec-test-env"),
		[]byte("#!/bin/sh\necho \"$A|$B|$PATH|${HOME-unset}\"\n"), 0o755)
	task = runExec(t, argv("exec-test-env"), envOf("PATH", bin+":/usr/bin:/bin", "B", "2", "A", "x y"))
	want = "x y|2|" + bin + ":/usr/bin:/bin|unset\n"
	if task.err != nil || string(task.result.Data) != want {
		t.Fatalf("got %q, want %q (%v)", task.result.Data, want, task.err)
	}
}

func TestExecMaxBytesStopsAnEndlessProgram(t *testing.T) {
	start := time.Now()
	task := runExec(t, argv("yes"), vInt("max_bytes", 1<<20))
	if task.err == nil || !strings.Contains(task.err.Message, "max_bytes") {
		t.Fatalf("max_bytes: %v", task.err)
	}
	if time.Since(start) > hangGuard/2 {
		t.Fatalf("took %v", time.Since(start))
	}
	// Stopped by a signal: SIGPIPE (its stdout is closed once refused) or
	// the kill.
	if code := metaInt(t, task, "exit_code"); code >= 0 {
		t.Fatalf("exit_code %d", code)
	}
	if !groupGone(metaInt(t, task, "pid")) {
		t.Fatal("the process group survived")
	}
	assertReaped(t, task)
}

func TestExecCancelKillsTheProcessGroup(t *testing.T) {
	rt := newRT(t, 0)
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The shell ignores SIGTERM: only the SIGKILL after the grace period
	// ends it, and its background child must die too.
	task, _, err := rt.SpawnTask("exec", []Value{
		argv("sh", "-c", `trap '' TERM; sleep 300 & echo $$ > "$1"; wait`, "sh", pidFile)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pgid int
	for deadline := time.Now().Add(hangGuard); pgid == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		text, _ := os.ReadFile(pidFile)
		if strings.HasSuffix(string(text), "\n") {
			pgid, _ = strconv.Atoi(strings.TrimSpace(string(text)))
		}
	}
	if _, err := rt.Cancel(task.ID); err != nil {
		t.Fatal(err)
	}
	if _, state, err := rt.Wait(task.ID, hangGuard); err != nil || state != StateCancelled {
		t.Fatalf("state %v, %v", state, err)
	}
	if pgid == 0 || !groupGone(pgid) {
		t.Fatalf("the process group %d survived", pgid)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pgid, &ws, syscall.WNOHANG, nil); err != syscall.ECHILD {
		t.Fatalf("pid %d was not reaped: wait4 = %v", pgid, err)
	}
}

func TestExecTimeoutKillsTheProcessGroup(t *testing.T) {
	rt := newRT(t, 0)
	task, _, err := rt.SpawnTask("exec", []Value{argv("sh", "-c", "sleep 300 & sleep 300")}, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, state, err := rt.Wait(task.ID, hangGuard); err != nil || state != StateFailed ||
		task.err.Code != FailureTimeout {
		t.Fatalf("state %v, %v, %v", state, err, task.err)
	}
	if !groupGone(metaInt(t, task, "pid")) {
		t.Fatal("the process group survived")
	}
}

func TestExecBackgroundChildKeepingStdoutOpen(t *testing.T) {
	start := time.Now()
	task := runExec(t, argv("sh", "-c", "sleep 30 & echo started"))
	if task.err != nil || string(task.result.Data) != "started\n" || metaInt(t, task, "exit_code") != 0 {
		t.Fatalf("result %q, %v", task.result.Data, task.err)
	}
	if elapsed := time.Since(start); elapsed > hangGuard/2 {
		t.Fatalf("waited %v for the background child", elapsed)
	}
	syscall.Kill(-metaInt(t, task, "pid"), syscall.SIGKILL)
}

func TestExecStreamsLines(t *testing.T) {
	ch := NewChannel(16)
	h := channels.add(ch)
	defer channels.remove(h)
	task := runExec(t, argv("printf", `a\nb\n\nlast`), Value{Name: "stream", Type: TypeChannel, Int: int64(h)})
	if task.err != nil || len(task.result.Data) != 0 {
		t.Fatalf("result %q, %v", task.result.Data, task.err)
	}
	var got []string
	for {
		item, err := ch.Recv(hangGuard)
		if errors.Is(err, ErrChannelClosed) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(item.Data))
	}
	if strings.Join(got, "|") != "a|b||last" {
		t.Fatalf("lines %q", got)
	}
}

func openFds(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	return len(entries)
}

func TestExecManyAtOnceLeaveNothingBehind(t *testing.T) {
	runExec(t, argv("true")) // opens the shared /dev/null
	fds := openFds(t)
	rt := newRT(t, 16)
	items := make([][]Value, 200)
	for i := range items {
		items[i] = []Value{argv("sh", "-c", "echo $$")}
	}
	ids, err := rt.SpawnMany("exec", items, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		task, state, err := rt.Wait(id, hangGuard)
		if err != nil || state != StateCompleted {
			t.Fatalf("task %d: %v, %v, %v", id, state, err, task.err)
		}
		if pid := strconv.Itoa(metaInt(t, task, "pid")); string(task.result.Data) != pid+"\n" {
			t.Fatalf("output %q, pid %s", task.result.Data, pid)
		}
		assertReaped(t, task)
	}
	if now := openFds(t); now != fds {
		t.Fatalf("%d descriptors open before, %d after", fds, now)
	}
}

func TestExecCancelAfterTheProgramExitedKillsWhatHoldsItsStdout(t *testing.T) {
	rt := newRT(t, 0)
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The program exits at once; its background child keeps stdout open,
	// so the task waits (up to a second) for the pipe, and can be cancelled.
	task, _, err := rt.SpawnTask("exec", []Value{
		argv("sh", "-c", `sleep 300 & echo $! > "$1"`, "sh", pidFile)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for deadline := time.Now().Add(hangGuard); child == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		text, _ := os.ReadFile(pidFile)
		if strings.HasSuffix(string(text), "\n") {
			child, _ = strconv.Atoi(strings.TrimSpace(string(text)))
		}
	}
	time.Sleep(100 * time.Millisecond) // the shell has exited by now
	if _, err := rt.Cancel(task.ID); err != nil {
		t.Fatal(err)
	}
	if _, state, err := rt.Wait(task.ID, hangGuard); err != nil || state != StateCancelled {
		t.Fatalf("state %v, %v (the task may have ended before the cancel)", state, err)
	}
	deadline := time.Now().Add(hangGuard)
	for syscall.Kill(child, 0) != syscall.ESRCH {
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("the background child %d survived the cancel", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExecEnvironmentIsBuiltOncePerDistinctEnv(t *testing.T) {
	a := &Args{}
	first, err := environment(a, map[string]string{"B": "2", "A": "1"})
	if err != nil || strings.Join(first, " ") != "A=1 B=2" {
		t.Fatalf("%q, %v", first, err)
	}
	again, _ := environment(a, map[string]string{"A": "1", "B": "2"})
	if &again[0] != &first[0] {
		t.Fatal("the same variables built a new slice")
	}
	for _, env := range []map[string]string{
		{"A": "1", "B": "3"}, {"A": "1"}, {"A": "1", "B": "2", "C": ""}, {"A": "1", "C": "2"}, {},
	} {
		got, err := environment(a, env)
		var want []string
		for k, v := range env {
			want = append(want, k+"="+v)
		}
		sort.Strings(want)
		if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("environment(%v) = %q, %v", env, got, err)
		}
	}
	// An invalid variable is refused whatever was built before.
	environment(a, map[string]string{"A": "1"})
	if _, err := environment(a, map[string]string{"A=": "1"}); err == nil {
		t.Fatal("a name with '=' was accepted")
	}
	if _, err := environment(a, map[string]string{"A": "1\x00"}); err == nil {
		t.Fatal("a value with NUL was accepted")
	}
	if env, err := environment(a, nil); env != nil || err != nil {
		t.Fatalf("nil env: %q, %v", env, err)
	}
	// An empty env is an empty environment, not Go's.
	for range 2 {
		if env, err := environment(a, map[string]string{}); env == nil || len(env) != 0 || err != nil {
			t.Fatalf("empty env: %#v, %v", env, err)
		}
	}
}

func TestExecWithoutPidfd(t *testing.T) {
	// Where pidfds are refused, programs are reaped by wait4 on a thread.
	pidfdRefused.Store(true)
	defer pidfdRefused.Store(false)
	t.Run("output", TestExecStdoutStderrAndMeta)
	t.Run("exit codes", TestExecExitCodes)
	t.Run("cancel", TestExecCancelKillsTheProcessGroup)
	t.Run("background child", TestExecBackgroundChildKeepingStdoutOpen)
}

func TestExecRunningProgramsHoldNoThreads(t *testing.T) {
	if fd, _, errno := syscall.Syscall(434 /* pidfd_open */, uintptr(os.Getpid()), 0, 0); errno != 0 {
		t.Skipf("no pidfd: %v", errno)
	} else {
		syscall.Close(int(fd))
	}
	rt := newRT(t, 0)
	items := make([][]Value, 150)
	for i := range items {
		items[i] = []Value{argv("sleep", "0.5")}
	}
	ids, err := rt.SpawnMany("exec", items, 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	threads := 0
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		if n, ok := strings.CutPrefix(line, "Threads:"); ok {
			threads, _ = strconv.Atoi(strings.TrimSpace(n))
		}
	}
	for _, id := range ids {
		if _, state, err := rt.Wait(id, hangGuard); err != nil || state != StateCompleted {
			t.Fatalf("task %d: %v, %v", id, state, err)
		}
	}
	// Waiting in the poller, 150 running programs need no thread each.
	if threads == 0 || threads > 75 {
		t.Fatalf("%d threads while 150 programs ran", threads)
	}
}

// execMeta is an exec task's meta, a map.
func execMeta(task *Task) map[string]any {
	m, _ := task.result.Meta().(map[string]any)
	return m
}

package exec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gogoroutines.dev/go/engine"
	"gogoroutines.dev/go/internal/testkit"
	"gogoroutines.dev/go/kind"
)

// The exec kind's behaviour as the Go side sees it (tests/test_kind_exec.py
// covers it through Python): output, exit codes, stdin, environment, limits,
// and that every run's processes are killed and reaped.

func argv(args ...string) kind.Value {
	items := make([]kind.Value, len(args))
	for i, a := range args {
		items[i] = testkit.Str("", a)
	}
	return kind.Value{Name: "argv", Type: kind.ValueList, Items: items}
}

func envOf(kv ...string) kind.Value {
	items := make([]kind.Value, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		items = append(items, testkit.Str(kv[i], kv[i+1]))
	}
	return kind.Value{Name: "env", Type: kind.ValueMap, Items: items}
}

// runExec runs an exec task to its end and returns it.
func runExec(t *testing.T, values ...kind.Value) *engine.Task {
	t.Helper()
	rt := testkit.NewRuntime(t, 0)
	task, _, err := rt.SpawnTask("exec", values, 0)
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	if _, _, err := rt.Wait(task.ID, testkit.HangGuard); err != nil {
		t.Fatalf("wait: %v", err)
	}
	return task
}

func metaInt(t *testing.T, task *engine.Task, key string) int {
	t.Helper()
	v, ok := execMeta(task)[key].(int)
	if !ok {
		t.Fatalf("meta[%q] = %#v, want an int", key, execMeta(task)[key])
	}
	return v
}

// assertReaped checks that the task's program left no zombie behind.
func assertReaped(t *testing.T, task *engine.Task) {
	t.Helper()
	pid := metaInt(t, task, "pid")
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); err != syscall.ECHILD {
		t.Fatalf("pid %d was not reaped: wait4 = %v", pid, err)
	}
}

// groupGone waits until no process is left in the process group.
func groupGone(pgid int) bool {
	deadline := time.Now().Add(testkit.HangGuard)
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
	if task.Err() != nil || string(task.Result().Data) != "out\n" {
		t.Fatalf("result %q, %v", task.Result().Data, task.Err())
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
	fields := strings.Fields(string(task.Result().Data))
	if task.Err() != nil || len(fields) != 2 {
		t.Fatalf("result %q, %v", task.Result().Data, task.Err())
	}
	if fields[0] != "sh" {
		t.Fatalf("argv[0] %q", fields[0])
	}
	if want := metaInt(t, task, "pid"); fields[1] != strconv.Itoa(want) {
		t.Fatalf("process group %s, want its own (%d)", fields[1], want)
	}
}

func TestExecStdin(t *testing.T) {
	data := testkit.RandomBytes(4<<20 + 3) // more than a pipe holds, both ways at once
	task := runExec(t, argv("cat"), testkit.Bytes("stdin", data))
	if task.Err() != nil || !bytes.Equal(task.Result().Data, data) {
		t.Fatalf("cat returned %d bytes, %v", len(task.Result().Data), task.Err())
	}
	// Without stdin, the program reads end of file at once.
	task = runExec(t, argv("cat"))
	if task.Err() != nil || len(task.Result().Data) != 0 {
		t.Fatalf("cat without stdin: %q, %v", task.Result().Data, task.Err())
	}
	// A program that does not read its stdin is not an error.
	task = runExec(t, argv("true"), testkit.Bytes("stdin", make([]byte, 8<<20)))
	if task.Err() != nil {
		t.Fatalf("true with stdin: %v", task.Err())
	}
}

func TestExecExitCodes(t *testing.T) {
	task := runExec(t, argv("sh", "-c", "echo why >&2; exit 3"))
	if task.Err() == nil || !strings.Contains(task.Err().Message, "exited with code 3") ||
		!strings.Contains(task.Err().Message, "why") {
		t.Fatalf("check: %v", task.Err())
	}
	task = runExec(t, argv("sh", "-c", "exit 3"), testkit.Bool("check", false))
	if task.Err() != nil || metaInt(t, task, "exit_code") != 3 {
		t.Fatalf("without check: %v, meta %v", task.Err(), execMeta(task))
	}
	task = runExec(t, argv("sh", "-c", "kill -KILL $$"), testkit.Bool("check", false))
	if code := metaInt(t, task, "exit_code"); task.Err() != nil || code != -int(syscall.SIGKILL) {
		t.Fatalf("killed by a signal: exit_code %d, %v", code, task.Err())
	}
	assertReaped(t, task)
}

func TestExecProgramsThatCannotRun(t *testing.T) {
	task := runExec(t, argv("no-such-program-exec-test"), testkit.Bool("check", false))
	if task.Err() == nil || !strings.Contains(task.Err().Message, `"no-such-program-exec-test" not found`) {
		t.Fatalf("missing program: %v", task.Err())
	}
	script := filepath.Join(t.TempDir(), "script.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho ran\n"), 0o644)
	task = runExec(t, argv(script))
	if task.Err() == nil || !strings.Contains(task.Err().Message, "fork/exec "+script+": permission denied") {
		t.Fatalf("not executable: %v", task.Err())
	}
	task = runExec(t, argv("true"), testkit.Str("cwd", filepath.Join(t.TempDir(), "missing")))
	if task.Err() == nil || !strings.Contains(task.Err().Message, "missing") {
		t.Fatalf("missing cwd: %v", task.Err())
	}
}

func TestExecEnvAndCwd(t *testing.T) {
	dir := t.TempDir()
	// Without env the program gets the process's environment; the shell sets
	// PWD to cwd.
	task := runExec(t, argv("sh", "-c", `pwd; echo "$PWD"; echo "${HOME+set}"`), testkit.Str("cwd", dir))
	real, _ := filepath.EvalSymlinks(dir)
	want := real + "\n" + dir + "\n"
	if os.Getenv("HOME") != "" {
		want += "set\n"
	} else {
		want += "\n"
	}
	if task.Err() != nil || string(task.Result().Data) != want {
		t.Fatalf("got %q, want %q (%v)", task.Result().Data, want, task.Err())
	}
	// With env the program gets it merged over the process's environment,
	// and PATH is searched in the result.
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "exec-test-env"),
		[]byte("#!/bin/sh\necho \"$A|$B|$PATH|${HOME-unset}\"\n"), 0o755)
	task = runExec(t, argv("exec-test-env"), envOf("PATH", bin+":/usr/bin:/bin", "B", "2", "A", "x y"))
	home, hasHome := os.LookupEnv("HOME")
	if !hasHome {
		home = "unset"
	}
	want = "x y|2|" + bin + ":/usr/bin:/bin|" + home + "\n"
	if task.Err() != nil || string(task.Result().Data) != want {
		t.Fatalf("got %q, want %q (%v)", task.Result().Data, want, task.Err())
	}
}

func TestExecMaxBytesStopsAnEndlessProgram(t *testing.T) {
	start := time.Now()
	task := runExec(t, argv("yes"), testkit.Int("max_bytes", 1<<20))
	if task.Err() == nil || !strings.Contains(task.Err().Message, "max_bytes") {
		t.Fatalf("max_bytes: %v", task.Err())
	}
	if time.Since(start) > testkit.HangGuard/2 {
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
	rt := testkit.NewRuntime(t, 0)
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The shell ignores SIGTERM: only the SIGKILL after the grace period
	// ends it, and its background child must die too.
	task, _, err := rt.SpawnTask("exec", []kind.Value{
		argv("sh", "-c", `trap '' TERM; sleep 300 & echo $$ > "$1"; wait`, "sh", pidFile)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pgid int
	for deadline := time.Now().Add(testkit.HangGuard); pgid == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		text, _ := os.ReadFile(pidFile)
		if strings.HasSuffix(string(text), "\n") {
			pgid, _ = strconv.Atoi(strings.TrimSpace(string(text)))
		}
	}
	if _, err := rt.Cancel(task.ID); err != nil {
		t.Fatal(err)
	}
	if _, state, err := rt.Wait(task.ID, testkit.HangGuard); err != nil || state != engine.StateCancelled {
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
	rt := testkit.NewRuntime(t, 0)
	task, _, err := rt.SpawnTask("exec", []kind.Value{argv("sh", "-c", "sleep 300 & sleep 300")}, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, state, err := rt.Wait(task.ID, testkit.HangGuard); err != nil || state != engine.StateFailed ||
		task.Err().Code != engine.FailureTimeout {
		t.Fatalf("state %v, %v, %v", state, err, task.Err())
	}
	if !groupGone(metaInt(t, task, "pid")) {
		t.Fatal("the process group survived")
	}
}

func TestExecBackgroundChildKeepingStdoutOpen(t *testing.T) {
	start := time.Now()
	task := runExec(t, argv("sh", "-c", "sleep 30 & echo started"))
	if task.Err() != nil || string(task.Result().Data) != "started\n" || metaInt(t, task, "exit_code") != 0 {
		t.Fatalf("result %q, %v", task.Result().Data, task.Err())
	}
	if elapsed := time.Since(start); elapsed > testkit.HangGuard/2 {
		t.Fatalf("waited %v for the background child", elapsed)
	}
	syscall.Kill(-metaInt(t, task, "pid"), syscall.SIGKILL)
}

func TestExecStreamsLines(t *testing.T) {
	ch := testkit.NewChannel(t, 16)
	task := runExec(t, argv("printf", `a\nb\n\nlast`), testkit.Stream("stream", ch))
	if task.Err() != nil || len(task.Result().Data) != 0 {
		t.Fatalf("result %q, %v", task.Result().Data, task.Err())
	}
	var got []string
	for {
		item, err := ch.Recv(testkit.HangGuard)
		if errors.Is(err, engine.ErrChannelClosed) {
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
	rt := testkit.NewRuntime(t, 16)
	items := make([][]kind.Value, 200)
	for i := range items {
		items[i] = []kind.Value{argv("sh", "-c", "echo $$")}
	}
	ids, err := rt.SpawnMany("exec", items, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		task, state, err := rt.Wait(id, testkit.HangGuard)
		if err != nil || state != engine.StateCompleted {
			t.Fatalf("task %d: %v, %v, %v", id, state, err, task.Err())
		}
		if pid := strconv.Itoa(metaInt(t, task, "pid")); string(task.Result().Data) != pid+"\n" {
			t.Fatalf("output %q, pid %s", task.Result().Data, pid)
		}
		assertReaped(t, task)
	}
	if now := openFds(t); now != fds {
		t.Fatalf("%d descriptors open before, %d after", fds, now)
	}
}

func TestExecCancelAfterTheProgramExitedKillsWhatHoldsItsStdout(t *testing.T) {
	rt := testkit.NewRuntime(t, 0)
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The program exits at once; its background child keeps stdout open,
	// so the task waits (up to a second) for the pipe, and can be cancelled.
	task, _, err := rt.SpawnTask("exec", []kind.Value{
		argv("sh", "-c", `sleep 300 & echo $! > "$1"`, "sh", pidFile)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for deadline := time.Now().Add(testkit.HangGuard); child == 0 && time.Now().Before(deadline); {
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
	if _, state, err := rt.Wait(task.ID, testkit.HangGuard); err != nil || state != engine.StateCancelled {
		t.Fatalf("state %v, %v (the task may have ended before the cancel)", state, err)
	}
	deadline := time.Now().Add(testkit.HangGuard)
	for syscall.Kill(child, 0) != syscall.ESRCH {
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("the background child %d survived the cancel", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExecEnvironmentIsTheCurrentOneWithEnvMergedOver(t *testing.T) {
	k, _ := kind.Lookup("exec")
	a := kind.NewArgs(k, nil, nil)
	// os.Setenv writes through C's setenv in a cgo program, as Python's
	// os.environ writes through putenv: the environment a child gets is the
	// process's current one, not the copy Go made when it started.
	t.Setenv("GOGO_TEST_VAR", "from-process")
	base, err := environment(a, nil)
	if err != nil || !slices.Contains(base, "GOGO_TEST_VAR=from-process") || !slices.IsSorted(base) {
		t.Fatalf("environment(nil) = %q, %v", base, err)
	}
	if again, _ := environment(a, nil); &again[0] != &base[0] {
		t.Fatal("an unchanged environment built a new slice")
	}
	over := map[string]string{"GOGO_TEST_VAR": "over", "GOGO_TEST_NEW": "1"}
	merged, err := environment(a, over)
	want := slices.DeleteFunc(slices.Clone(base), func(kv string) bool { return kv == "GOGO_TEST_VAR=from-process" })
	want = append(want, "GOGO_TEST_VAR=over", "GOGO_TEST_NEW=1")
	slices.Sort(want)
	if err != nil || !slices.Equal(merged, want) {
		t.Fatalf("environment(%v) = %q, %v; want %q", over, merged, err, want)
	}
	if again, _ := environment(a, map[string]string{"GOGO_TEST_NEW": "1", "GOGO_TEST_VAR": "over"}); &again[0] != &merged[0] {
		t.Fatal("the same env built a new slice")
	}
	t.Setenv("GOGO_TEST_LATER", "x")
	if later, _ := environment(a, nil); !slices.Contains(later, "GOGO_TEST_LATER=x") {
		t.Fatalf("a variable set later is missing: %q", later)
	}
	// An invalid variable is refused whatever was built before.
	for _, bad := range []map[string]string{{"A=": "1"}, {"": "1"}, {"A": "1\x00"}, {"A\x00": "1"}} {
		if _, err := environment(a, bad); err == nil {
			t.Fatalf("env %q was accepted", bad)
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
	rt := testkit.NewRuntime(t, 0)
	items := make([][]kind.Value, 150)
	for i := range items {
		items[i] = []kind.Value{argv("sleep", "0.5")}
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
		if _, state, err := rt.Wait(id, testkit.HangGuard); err != nil || state != engine.StateCompleted {
			t.Fatalf("task %d: %v, %v", id, state, err)
		}
	}
	// Waiting in the poller, 150 running programs need no thread each.
	if threads == 0 || threads > 75 {
		t.Fatalf("%d threads while 150 programs ran", threads)
	}
}

// execMeta is an exec task's meta, a map.
func execMeta(task *engine.Task) map[string]any {
	m, _ := task.Result().Meta().(map[string]any)
	return m
}

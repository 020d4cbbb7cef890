package exec

/*
#include <stdlib.h>
#include <string.h>
extern char **environ;
*/
import "C"

import (
	"sort"
	"strings"
	"sync"
	"unsafe"

	"gogoroutines.dev/go/kind"
)

// A child gets the environment of the process as it is when the task is
// spawned, with the task's `env` merged over it.
//
// Go copies the environment once, when it starts; the program that loads
// gogoroutines changes its own later (Python's os.environ writes through
// putenv), and the child must see those changes, whatever language spawned
// it. So the environment is read from C's environ, on the spawning thread:
// Python holds the GIL during a spawn, so os.environ cannot change under the
// read (from C++, the usual rule of getenv holds: no setenv in parallel).

// envCache keeps the environment most recently built, so that spawns in a
// row (a map over a thousand commands) share one sorted, validated slice
// instead of each building its own. Slices in it are never modified.
var envCache struct {
	mu     sync.Mutex
	base   []string          // the process environment, sorted
	over   map[string]string // the env the merged slice was built with
	merged []string          // base with over merged, sorted
}

// environment returns the child's environment: the process's current one
// with env (validated here) merged over it, as sorted "name=value" strings.
func environment(a *kind.Args, env map[string]string) ([]string, error) {
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, a.Invalid("env", "has an invalid variable name %q", k)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return nil, a.Invalid("env", "value of %s contains a NUL byte", k)
		}
	}
	envCache.mu.Lock()
	defer envCache.mu.Unlock()
	if !environUnchanged(envCache.base) {
		envCache.base = readEnviron()
		envCache.over, envCache.merged = nil, nil
	}
	if len(env) == 0 {
		return envCache.base, nil
	}
	if envCache.merged == nil || !sameMap(envCache.over, env) {
		envCache.over, envCache.merged = env, merge(envCache.base, env)
	}
	return envCache.merged, nil
}

// environ views C's environ as "name=value" strings that alias C memory:
// valid only until the environment changes, so callers copy what they keep.
func environ() []string {
	n := 0
	for p := C.environ; p != nil && *p != nil; p = (**C.char)(unsafe.Add(unsafe.Pointer(p), unsafe.Sizeof(*p))) {
		n++
	}
	if n == 0 {
		return nil
	}
	vars := make([]string, 0, n)
	for _, kv := range unsafe.Slice(C.environ, n) {
		if v := unsafe.String((*byte)(unsafe.Pointer(kv)), C.strlen(kv)); strings.IndexByte(v, '=') > 0 {
			vars = append(vars, v)
		}
	}
	return vars
}

// readEnviron copies C's environ, sorted.
func readEnviron() []string {
	env := environ()
	for i, kv := range env {
		env[i] = strings.Clone(kv)
	}
	sort.Strings(env)
	return env
}

// environUnchanged reports whether C's environ holds exactly the sorted
// variables of last.
func environUnchanged(last []string) bool {
	if last == nil {
		return false
	}
	current := environ()
	if len(current) != len(last) {
		return false
	}
	for _, kv := range current {
		if i := sort.SearchStrings(last, kv); i == len(last) || last[i] != kv {
			return false
		}
	}
	return true
}

// merge returns base with the variables of over replacing or added, sorted.
func merge(base []string, over map[string]string) []string {
	out := make([]string, 0, len(base)+len(over))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if _, replaced := over[name]; !replaced {
			out = append(out, kv)
		}
	}
	for k, v := range over {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

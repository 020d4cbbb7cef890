package main

import (
	"sort"
	"strings"
	"sync/atomic"
)

// lastEnv is the environment most recently built for an exec task. The
// Python package passes its whole os.environ with every task, so runs in a
// row nearly always get the same variables: they then share one validated,
// sorted slice instead of each building its own (a string per variable and
// a sort, on the thread that spawns). The slice is never modified.
var lastEnv atomic.Pointer[[]string]

// environment validates env and returns it as sorted "name=value" strings
// for the child (nil for a nil env: the child inherits Go's environment).
func environment(a *Args, env map[string]string) ([]string, error) {
	if env == nil {
		return nil, nil
	}
	if last := lastEnv.Load(); last != nil && sameEnv(*last, env) {
		return *last, nil // validated when it was built
	}
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, a.errorf("env", "has an invalid variable name %q", k)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return nil, a.errorf("env", "value of %s contains a NUL byte", k)
		}
	}
	built := make([]string, 0, len(env))
	for k, v := range env {
		built = append(built, k+"="+v)
	}
	sort.Strings(built)
	lastEnv.Store(&built)
	return built, nil
}

// sameEnv reports whether kvs ("name=value", names without '=') holds
// exactly the variables of env.
func sameEnv(kvs []string, env map[string]string) bool {
	if len(kvs) != len(env) {
		return false
	}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		if w, ok := env[k]; !ok || w != v {
			return false
		}
	}
	return true
}

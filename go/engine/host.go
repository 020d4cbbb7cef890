package engine

import (
	"io"
	"sync"

	"gogoroutines.dev/go/kind"
)

// A Runtime is the kind.Host of the tasks prepared on it.

// MaxConcurrency is the runtime's limit on running tasks (0: none).
func (rt *Runtime) MaxConcurrency() int { return max(rt.maxConcurrency, 0) }

// Shared returns the value kept under key, making it with create on first
// use; Close closes it.
func (rt *Runtime) Shared(key any, create func(kind.Host) any) any {
	rt.shared.mu.Lock()
	defer rt.shared.mu.Unlock()
	if v, ok := rt.shared.values[key]; ok {
		return v
	}
	v := create(rt)
	if rt.shared.closed {
		// For a spawn that is about to fail (the runtime is closed): nothing
		// will close the value later, so it is closed now.
		closeValue(v)
		return v
	}
	if rt.shared.values == nil {
		rt.shared.values = map[any]any{}
	}
	rt.shared.values[key] = v
	return v
}

// sharedState is what kinds keep on a runtime (see kind.Host).
type sharedState struct {
	mu     sync.Mutex
	values map[any]any
	closed bool
}

// close closes every value that can be closed and forgets them all.
func (s *sharedState) close() {
	s.mu.Lock()
	values := s.values
	s.values, s.closed = nil, true
	s.mu.Unlock()
	for _, v := range values {
		closeValue(v)
	}
}

// closeValue calls the Close method of v, if it has one.
func closeValue(v any) {
	switch c := v.(type) {
	case io.Closer:
		_ = c.Close()
	case interface{ Close() }:
		c.Close()
	}
}

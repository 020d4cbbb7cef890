package kind

// Host is the runtime that a task is prepared on, as its kind sees it.
//
// A kind that keeps state shared by the tasks of one runtime (the http kind
// keeps a connection pool) keeps it on the Host, not in a global: each
// runtime then has its own, sized for it, and it ends with the runtime.
type Host interface {
	// MaxConcurrency is the most tasks the runtime runs at once (0: no limit).
	MaxConcurrency() int
	// Shared returns the value the runtime keeps under key (a value of a
	// type of the kind's own, so that kinds never collide), calling create
	// with the host to make it on first use. When the runtime is closed, it
	// calls the value's Close method if it has one (an io.Closer, or a func
	// Close()). Pass a function declared once, not a closure: Shared is
	// called on every spawn, and a closure would be an allocation each time.
	Shared(key any, create func(Host) any) any
}

// detachedHost serves Prepare calls with no runtime (tests, fuzzing): it
// keeps nothing, so each task gets shared state of its own.
type detachedHost struct{}

func (detachedHost) MaxConcurrency() int                       { return 0 }
func (h detachedHost) Shared(_ any, create func(Host) any) any { return create(h) }

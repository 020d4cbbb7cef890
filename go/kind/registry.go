package kind

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Register adds k to the kinds of this process. Call it from an init
// function of the package that defines the kind.
//
// A mistake in k (no name, both or neither of Prepare and Timer, a Default
// that does not suit its parameter's Type) or a name that another package
// registered already does not panic: a panic in init would crash the
// program that loads the library before it could say why. Instead the
// engine refuses to create runtimes, with an error (see Check) that names the
// kind and both packages.
func Register(k *Kind) {
	defaultRegistry.register(k, callerPackage(2))
}

// Lookup returns the kind registered under name.
func Lookup(name string) (*Kind, bool) {
	e, ok := defaultRegistry.kinds[name]
	if !ok {
		return nil, false
	}
	return e.kind, true
}

// Names returns the names of the registered kinds, sorted.
func Names() []string { return defaultRegistry.names() }

// PackageOf returns the import path of the package that registered the kind
// named name ("" if none did).
func PackageOf(name string) string {
	if e, ok := defaultRegistry.kinds[name]; ok {
		return e.pkg
	}
	return ""
}

// Check returns the problems Register met, joined (nil if none): two
// packages registering one name, or an incomplete Kind.
func Check() error { return defaultRegistry.check() }

// MaxStopGrace is the largest StopGrace of the registered kinds.
func MaxStopGrace() (grace time.Duration) {
	for _, e := range defaultRegistry.kinds {
		grace = max(grace, e.kind.StopGrace)
	}
	return grace
}

// registry holds kinds by name. The process has one, defaultRegistry,
// filled by init functions and read-only afterwards (so lookups take no
// lock); tests make their own.
type registry struct {
	kinds    map[string]entry
	mu       sync.Mutex // guards problems (Register may run in parallel tests)
	problems []error
}

type entry struct {
	kind *Kind
	pkg  string // the import path of the registering package
}

var defaultRegistry = newRegistry()

func newRegistry() *registry { return &registry{kinds: map[string]entry{}} }

func (r *registry) register(k *Kind, pkg string) {
	if err := k.validate(); err != nil {
		r.problem(fmt.Errorf("package %s registers an invalid kind: %w", pkg, err))
		return
	}
	if old, dup := r.kinds[k.Name]; dup {
		r.problem(fmt.Errorf("kind '%s' is registered twice: by package %s and by package %s",
			k.Name, old.pkg, pkg))
		return
	}
	r.kinds[k.Name] = entry{kind: k, pkg: pkg}
}

func (r *registry) problem(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, err)
}

func (r *registry) check() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.problems...)
}

func (r *registry) names() []string {
	names := make([]string, 0, len(r.kinds))
	for name := range r.kinds {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// validate reports what is wrong with a Kind that would fail its tasks.
func (k *Kind) validate() error {
	if k == nil || k.Name == "" {
		return errors.New("a kind needs a name")
	}
	if (k.Prepare == nil) == (k.Timer == nil) {
		return fmt.Errorf("kind '%s' must set exactly one of Prepare and Timer", k.Name)
	}
	seen := map[string]bool{}
	for _, p := range k.Params {
		if p.Name == "" || seen[p.Name] {
			return fmt.Errorf("kind '%s' has an empty or repeated parameter name %q", k.Name, p.Name)
		}
		seen[p.Name] = true
		if _, ok := typeNames[p.Type]; !ok {
			return fmt.Errorf("kind '%s': parameter '%s' has no Type", k.Name, p.Name)
		}
		if err := p.checkDefault(); err != nil {
			return fmt.Errorf("kind '%s': %w", k.Name, err)
		}
	}
	if len(k.Params) > MaxArgs {
		return fmt.Errorf("kind '%s' has more than %d parameters", k.Name, MaxArgs)
	}
	return nil
}

// callerPackage returns the import path of the package of the function
// skip frames up the stack ("unknown" if it cannot tell).
func callerPackage(skip int) string {
	pc, _, _, ok := runtime.Caller(skip)
	if !ok {
		return "unknown"
	}
	fn := runtime.FuncForPC(pc)
	if fn == nil {
		return "unknown"
	}
	// "example.com/a/b.init.0": the path up to the last slash, then up to
	// the first dot after it.
	name := fn.Name()
	slash := strings.LastIndexByte(name, '/')
	if dot := strings.IndexByte(name[slash+1:], '.'); dot >= 0 {
		return name[:slash+1+dot]
	}
	return name
}

// UnknownKindError is the error of a spawn that names no registered kind.
type UnknownKindError struct {
	Name string
}

// Error names the unknown kind and lists the known ones.
func (e *UnknownKindError) Error() string {
	return fmt.Sprintf("unknown task kind '%s'; known kinds: %s", e.Name, strings.Join(Names(), ", "))
}

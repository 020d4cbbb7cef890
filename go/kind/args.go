package kind

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Args gives Prepare typed access to one task's arguments.
//
// Each getter reads the argument of that name, declared in the kind's
// Params: a value the caller gave, else the parameter's Default (or the zero
// value). A value of the wrong type, a missing Required argument or a value
// out of range makes the getter return the zero value and records an error
// that names the argument; Err returns the first one. So Prepare reads all
// its arguments and checks Err once:
//
//	url := a.Str("url")
//	retries := a.IntIn("retries", 0, 100)
//	if err := a.Err(); err != nil {
//		return nil, err
//	}
//
// The engine checks Err after Prepare too, and refuses arguments that no
// parameter declares. Values returned by the getters are the kind's to keep.
type Args struct {
	kind    *Kind
	values  []Value
	used    uint64 // bit i: values[i] was read
	host    Host
	err     error
	streams []Stream // what Stream returned, for the engine to close
}

// ErrInvalidArgument is what every argument error matches with errors.Is.
var ErrInvalidArgument = errors.New("invalid argument")

// ArgError is a bad argument found at spawn, naming the kind and the argument.
type ArgError struct {
	Kind string // the kind's name
	Arg  string // the argument's name ("" for a problem with several)
	Msg  string // what is wrong, e.g. "must be a string, got int"
}

// Error formats the error as "<kind>: argument '<arg>' <msg>".
func (e *ArgError) Error() string {
	if e.Arg == "" {
		return fmt.Sprintf("%s: %s", e.Kind, e.Msg)
	}
	return fmt.Sprintf("%s: argument '%s' %s", e.Kind, e.Arg, e.Msg)
}

// Is makes errors.Is(err, ErrInvalidArgument) true for every ArgError.
func (e *ArgError) Is(target error) bool { return target == ErrInvalidArgument }

// NewArgs wraps values (at most MaxArgs) as the arguments of a task of k on
// host. The engine calls it; a kind only receives Args.
func NewArgs(k *Kind, host Host, values []Value) *Args {
	return &Args{kind: k, values: values, host: host}
}

// Host returns the runtime the task is prepared on.
func (a *Args) Host() Host { return a.host }

// Err returns the first error a getter or Invalid recorded, or nil.
func (a *Args) Err() error { return a.err }

// Invalid returns an error saying that argument name is wrong (as in "http:
// argument 'url' must be absolute"), and records it for Err.
func (a *Args) Invalid(name, format string, v ...any) error {
	err := &ArgError{Kind: a.kind.Name, Arg: name, Msg: fmt.Sprintf(format, v...)}
	a.fail(err)
	return err
}

func (a *Args) fail(err error) {
	if a.err == nil {
		a.err = err
	}
}

// get finds the parameter name, which a getter for one of types reads, and
// the value given for it (nil when absent or None). p is nil after an error.
func (a *Args) get(name string, types ...Type) (p *Param, v *Value) {
	for i := range a.kind.Params {
		if a.kind.Params[i].Name == name {
			p = &a.kind.Params[i]
			break
		}
	}
	if p == nil || (types != nil && !isOneOf(p.Type, types)) {
		a.fail(fmt.Errorf("kind '%s' reads argument '%s' with a getter its Params do not declare it for",
			a.kind.Name, name))
		return nil, nil
	}
	for i := range a.values {
		if a.values[i].Name != name {
			continue
		}
		a.used |= 1 << i
		if v = &a.values[i]; v.Type == ValueNone {
			v = nil
		}
		break
	}
	switch {
	case v == nil && p.Required:
		a.Invalid(name, "is required")
		return nil, nil
	case v != nil && !p.Type.accepts(v.Type):
		a.Invalid(name, "must be %s, got %s", p.Type.phrase(), v.Type)
		return nil, nil
	}
	return p, v
}

func isOneOf(t Type, types []Type) bool {
	for _, u := range types {
		if t == u {
			return true
		}
	}
	return false
}

// Has reports whether the argument name was given with a value (not None).
func (a *Args) Has(name string) bool {
	for i := range a.values {
		if a.values[i].Name == name {
			return a.values[i].Type != ValueNone
		}
	}
	return false
}

// Str returns the String argument name.
func (a *Args) Str(name string) string {
	p, v := a.get(name, String)
	switch {
	case p == nil:
		return ""
	case v == nil:
		s, _ := p.Default.(string)
		return s
	}
	return string(v.Bytes)
}

// Data returns the Data (or String) argument name as bytes.
func (a *Args) Data(name string) []byte {
	p, v := a.get(name, Data, String)
	switch {
	case p == nil:
		return nil
	case v == nil:
		if s, ok := p.Default.(string); ok {
			return []byte(s)
		}
		return nil
	}
	return v.Bytes
}

// Int returns the Int argument name.
func (a *Args) Int(name string) int64 {
	p, v := a.get(name, Int)
	switch {
	case p == nil:
		return 0
	case v == nil:
		return defaultInt(p.Default)
	}
	return v.Int
}

// IntIn returns the Int argument name, which must lie in [lo, hi].
func (a *Args) IntIn(name string, lo, hi int64) int64 {
	n := a.Int(name)
	if n < lo || n > hi {
		a.Invalid(name, "must be between %d and %d, got %d", lo, hi, n)
		return 0
	}
	return n
}

// Float returns the Number argument name.
func (a *Args) Float(name string) float64 {
	p, v := a.get(name, Number)
	switch {
	case p == nil:
		return 0
	case v == nil:
		if f, ok := p.Default.(float64); ok {
			return f
		}
		return float64(defaultInt(p.Default))
	case v.Type == ValueInt:
		return float64(v.Int)
	}
	return v.Float
}

// Seconds returns the Number argument name as a duration of that many
// seconds: not NaN, not negative, at most MaxSeconds.
func (a *Args) Seconds(name string) time.Duration {
	s := a.Float(name)
	switch {
	case math.IsNaN(s):
		a.Invalid(name, "must be a number of seconds, got NaN")
	case s < 0:
		a.Invalid(name, "must not be negative, got %g", s)
	case s > MaxSeconds:
		a.Invalid(name, "is too large (at most %d seconds), got %g", MaxSeconds, s)
	default:
		return time.Duration(s * float64(time.Second))
	}
	return 0
}

// Milliseconds returns the Int argument name as a duration of that many
// milliseconds: not negative, at most MaxSeconds.
func (a *Args) Milliseconds(name string) time.Duration {
	ms := a.Int(name)
	switch {
	case ms < 0:
		a.Invalid(name, "must not be negative, got %d", ms)
	case ms > MaxSeconds*1000:
		a.Invalid(name, "is too large (at most %d ms), got %d", int64(MaxSeconds)*1000, ms)
	default:
		return time.Duration(ms) * time.Millisecond
	}
	return 0
}

// Bool returns the Bool argument name.
func (a *Args) Bool(name string) bool {
	p, v := a.get(name, Bool)
	switch {
	case p == nil:
		return false
	case v == nil:
		b, _ := p.Default.(bool)
		return b
	}
	return v.Int != 0
}

// StrList returns the StringList argument name (nil when absent).
func (a *Args) StrList(name string) []string {
	_, v := a.get(name, StringList)
	if v == nil {
		return nil
	}
	out := make([]string, len(v.Items))
	for i, item := range v.Items {
		if item.Type != ValueStr {
			a.Invalid(name, "must be a list of strings, but item %d is %s", i, item.Type)
			return nil
		}
		out[i] = string(item.Bytes)
	}
	return out
}

// StrMap returns the StringMap argument name (nil when absent).
func (a *Args) StrMap(name string) map[string]string {
	_, v := a.get(name, StringMap)
	if v == nil {
		return nil
	}
	out := make(map[string]string, len(v.Items))
	for _, item := range v.Items {
		if item.Type != ValueStr {
			a.Invalid(name, "must be a map of string to string, but '%s' maps to %s", item.Name, item.Type)
			return nil
		}
		out[item.Name] = string(item.Bytes)
	}
	return out
}

// Stream returns the Channel argument name (nil when absent). The engine
// closes it when the task ends (also when the task is cancelled before its
// work started); the work may close it sooner.
func (a *Args) Stream(name string) Stream {
	_, v := a.get(name, Channel)
	if v == nil || v.Stream == nil {
		return nil
	}
	a.streams = append(a.streams, v.Stream)
	return v.Stream
}

// Value returns the argument name as the caller gave it (nil when absent),
// for parameters of type Any.
func (a *Args) Value(name string) *Value {
	_, v := a.get(name)
	return v
}

func defaultInt(def any) int64 {
	switch n := def.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	}
	return 0
}

// done checks what the getters did not: arguments no parameter declares,
// arguments given twice, and declared ones that Prepare did not read.
func (a *Args) done() error {
	var unknown []string
	for i := range a.values {
		if a.used&(1<<i) != 0 {
			continue
		}
		name := a.values[i].Name
		switch declared := a.declares(name); {
		case !declared:
			unknown = append(unknown, name)
		case a.readBefore(i):
			a.Invalid(name, "is given twice")
		default:
			a.get(name) // type and Required checks for a parameter Prepare skipped
		}
	}
	if a.err != nil || len(unknown) == 0 {
		return a.err
	}
	sort.Strings(unknown)
	accepted := make([]string, 0, len(a.kind.Params))
	for _, p := range a.kind.Params {
		accepted = append(accepted, p.Name)
	}
	takes := "takes no arguments"
	if len(accepted) > 0 {
		takes = "takes: " + strings.Join(accepted, ", ")
	}
	word := "argument"
	if len(unknown) > 1 {
		word = "arguments"
	}
	return &ArgError{Kind: a.kind.Name, Msg: fmt.Sprintf("unexpected %s '%s' (%s)",
		word, strings.Join(unknown, "', '"), takes)}
}

func (a *Args) declares(name string) bool {
	for _, p := range a.kind.Params {
		if p.Name == name {
			return true
		}
	}
	return false
}

// readBefore reports whether an earlier value of the same name was read.
func (a *Args) readBefore(i int) bool {
	for j := 0; j < i; j++ {
		if a.values[j].Name == a.values[i].Name && a.used&(1<<j) != 0 {
			return true
		}
	}
	return false
}

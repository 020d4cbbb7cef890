package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// ValueType is the type of one decoded argument value. Its numbers match
// enum gogo_arg_type in gogo_abi.h.
type ValueType int32

// The argument value types.
const (
	TypeNone  ValueType = 0
	TypeStr   ValueType = 1
	TypeBytes ValueType = 2
	TypeInt   ValueType = 3
	TypeFloat ValueType = 4
	TypeBool  ValueType = 5
	TypeList  ValueType = 6
	TypeMap   ValueType = 7
	// TypeChannel carries the handle of a Channel in Int.
	TypeChannel ValueType = 8
)

// String names the type as a Python user would know it.
func (t ValueType) String() string {
	switch t {
	case TypeNone:
		return "None"
	case TypeStr:
		return "str"
	case TypeBytes:
		return "bytes"
	case TypeInt:
		return "int"
	case TypeFloat:
		return "float"
	case TypeBool:
		return "bool"
	case TypeList:
		return "list"
	case TypeMap:
		return "dict"
	case TypeChannel:
		return "Channel"
	}
	return fmt.Sprintf("type %d", int32(t))
}

// Value is one argument value copied out of C memory. Name is set for named
// arguments and map entries; the name of a top-level argument aliases the
// caller's memory and must not be kept after Prepare returns. Bytes holds the
// payload of str and bytes values.
type Value struct {
	Name  string
	Type  ValueType
	Int   int64
	Float float64
	Bytes []byte
	Items []Value
}

// maxSeconds bounds every duration argument: anything larger does not fit a
// time.Duration comfortably and is certainly a mistake.
const maxSeconds = 100 * 365 * 24 * 3600

// ArgError is a bad argument found at spawn time. It names the kind and the
// argument so that the user sees what to fix.
type ArgError struct {
	Kind string
	Arg  string
	Msg  string
}

func (e *ArgError) Error() string {
	if e.Arg == "" {
		return fmt.Sprintf("%s: %s", e.Kind, e.Msg)
	}
	return fmt.Sprintf("%s: argument '%s' %s", e.Kind, e.Arg, e.Msg)
}

// Args gives a kind typed, validated access to its arguments. Each accessor
// marks its argument as used; Done reports any argument no accessor asked for.
type Args struct {
	kind   string
	values []Value
	used   uint64   // bit i: values[i] was asked for
	rt     *Runtime // the spawning runtime (nil in some tests)
}

// MaxArgs is the most arguments one task takes.
const MaxArgs = 64

// NewArgs wraps decoded values (at most MaxArgs) for the kind named kind.
func NewArgs(kind string, values []Value) *Args {
	return &Args{kind: kind, values: values}
}

func (a *Args) errorf(arg, format string, v ...any) error {
	return &ArgError{Kind: a.kind, Arg: arg, Msg: fmt.Sprintf(format, v...)}
}

// lookup returns the value named name, or nil when it is absent or None.
func (a *Args) lookup(name string) *Value {
	for i := range a.values {
		if a.values[i].Name == name {
			a.used |= 1 << i
			if a.values[i].Type == TypeNone {
				return nil
			}
			return &a.values[i]
		}
	}
	return nil
}

// Str returns the str argument name, or def when it is absent.
func (a *Args) Str(name, def string) (string, error) {
	v := a.lookup(name)
	if v == nil {
		return def, nil
	}
	if v.Type != TypeStr {
		return "", a.errorf(name, "must be a str, got %s", v.Type)
	}
	return string(v.Bytes), nil
}

// RequiredStr returns the str argument name and fails when it is absent.
func (a *Args) RequiredStr(name string) (string, error) {
	v := a.lookup(name)
	if v == nil {
		return "", a.errorf(name, "is required")
	}
	if v.Type != TypeStr {
		return "", a.errorf(name, "must be a str, got %s", v.Type)
	}
	return string(v.Bytes), nil
}

// RequiredData returns the str or bytes argument name as bytes.
func (a *Args) RequiredData(name string) ([]byte, error) {
	v := a.lookup(name)
	if v == nil {
		return nil, a.errorf(name, "is required")
	}
	if v.Type != TypeStr && v.Type != TypeBytes {
		return nil, a.errorf(name, "must be str or bytes, got %s", v.Type)
	}
	return v.Bytes, nil
}

// Milliseconds returns the int argument name as a duration of milliseconds.
func (a *Args) Milliseconds(name string, def int64) (int64, time.Duration, error) {
	ms := def
	if v := a.lookup(name); v != nil {
		if v.Type != TypeInt {
			return 0, 0, a.errorf(name, "must be an int number of milliseconds, got %s", v.Type)
		}
		ms = v.Int
	}
	if ms < 0 {
		return 0, 0, a.errorf(name, "must not be negative, got %d", ms)
	}
	if ms > maxSeconds*1000 {
		return 0, 0, a.errorf(name, "is too large (at most %d ms), got %d", int64(maxSeconds)*1000, ms)
	}
	return ms, time.Duration(ms) * time.Millisecond, nil
}

// Seconds returns the int or float argument name as a duration.
func (a *Args) Seconds(name string, def float64) (time.Duration, error) {
	s := def
	if v := a.lookup(name); v != nil {
		switch v.Type {
		case TypeInt:
			s = float64(v.Int)
		case TypeFloat:
			s = v.Float
		default:
			return 0, a.errorf(name, "must be a number of seconds (int or float), got %s", v.Type)
		}
	}
	if math.IsNaN(s) {
		return 0, a.errorf(name, "must be a number of seconds, got NaN")
	}
	if s < 0 {
		return 0, a.errorf(name, "must not be negative, got %g", s)
	}
	if s > maxSeconds {
		return 0, a.errorf(name, "is too large (at most %d seconds), got %g", maxSeconds, s)
	}
	return time.Duration(s * float64(time.Second)), nil
}

// Done fails when an argument was passed that the kind does not take.
func (a *Args) Done(params []Param) error {
	var unknown []string
	for i := range a.values {
		if a.used&(1<<i) == 0 {
			unknown = append(unknown, a.values[i].Name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	accepted := make([]string, 0, len(params))
	for _, p := range params {
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
	return &ArgError{Kind: a.kind, Msg: fmt.Sprintf("unexpected %s %s (%s)",
		word, "'"+strings.Join(unknown, "', '")+"'", takes)}
}

// Present reports whether the argument name was passed with a value other than None.
func (a *Args) Present(name string) bool {
	for i := range a.values {
		if a.values[i].Name == name {
			return a.values[i].Type != TypeNone
		}
	}
	return false
}

// Data returns the str or bytes argument name as bytes; ok is false when it is absent.
func (a *Args) Data(name string) (data []byte, ok bool, err error) {
	v := a.lookup(name)
	if v == nil {
		return nil, false, nil
	}
	if v.Type != TypeStr && v.Type != TypeBytes {
		return nil, false, a.errorf(name, "must be str or bytes, got %s", v.Type)
	}
	return v.Bytes, true, nil
}

// Int returns the int argument name, or def when it is absent; it must lie in [lo, hi].
func (a *Args) Int(name string, def, lo, hi int64) (int64, error) {
	n := def
	if v := a.lookup(name); v != nil {
		if v.Type != TypeInt {
			return 0, a.errorf(name, "must be an int, got %s", v.Type)
		}
		n = v.Int
	}
	if n < lo || n > hi {
		return 0, a.errorf(name, "must be between %d and %d, got %d", lo, hi, n)
	}
	return n, nil
}

// Source is the input of a kind that reads either bytes or a file: exactly
// one of the arguments `data` and `path` must be given.
type Source struct {
	Data []byte
	Path string
}

// Source reads the `data` / `path` pair of arguments.
func (a *Args) Source() (Source, error) {
	data, hasData, err := a.Data("data")
	if err != nil {
		return Source{}, err
	}
	path, err := a.Str("path", "")
	if err != nil {
		return Source{}, err
	}
	switch {
	case hasData && path != "":
		return Source{}, a.errorf("data", "and 'path' were both given; pass exactly one")
	case !hasData && path == "":
		return Source{}, a.errorf("data", "or 'path' is required")
	}
	return Source{Data: data, Path: path}, nil
}

// Bool returns the bool argument name, or def when it is absent.
func (a *Args) Bool(name string, def bool) (bool, error) {
	v := a.lookup(name)
	if v == nil {
		return def, nil
	}
	if v.Type != TypeBool {
		return false, a.errorf(name, "must be a bool, got %s", v.Type)
	}
	return v.Int != 0, nil
}

// StrList returns the list-of-str argument name (nil when absent).
func (a *Args) StrList(name string) ([]string, error) {
	v := a.lookup(name)
	if v == nil {
		return nil, nil
	}
	if v.Type != TypeList {
		return nil, a.errorf(name, "must be a list of str, got %s", v.Type)
	}
	out := make([]string, len(v.Items))
	for i, item := range v.Items {
		if item.Type != TypeStr {
			return nil, a.errorf(name, "must be a list of str, but item %d is %s", i, item.Type)
		}
		out[i] = string(item.Bytes)
	}
	return out, nil
}

// StrMap returns the dict-of-str argument name (nil when absent).
func (a *Args) StrMap(name string) (map[string]string, error) {
	v := a.lookup(name)
	if v == nil {
		return nil, nil
	}
	if v.Type != TypeMap {
		return nil, a.errorf(name, "must be a dict of str to str, got %s", v.Type)
	}
	out := make(map[string]string, len(v.Items))
	for _, item := range v.Items {
		if item.Type != TypeStr {
			return nil, a.errorf(name, "must be a dict of str to str, but '%s' maps to %s", item.Name, item.Type)
		}
		out[item.Name] = string(item.Bytes)
	}
	return out, nil
}

// Channel returns the Channel argument name (nil when absent).
func (a *Args) Channel(name string) (*Channel, error) {
	v := a.lookup(name)
	if v == nil {
		return nil, nil
	}
	if v.Type != TypeChannel {
		return nil, a.errorf(name, "must be a Channel, got %s", v.Type)
	}
	ch := channels.get(uint64(v.Int))
	if ch == nil {
		return nil, a.errorf(name, "is a Channel that no longer exists")
	}
	return ch, nil
}

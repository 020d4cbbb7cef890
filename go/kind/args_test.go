package kind_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"gogoroutines.dev/go/kind"
)

// A kind whose Prepare reads every parameter type, so that the tests see
// what a kind author sees.
var everything = &kind.Kind{
	Name: "test_everything",
	Params: []kind.Param{
		{Name: "s", Type: kind.String, Default: "dflt"},
		{Name: "d", Type: kind.Data},
		{Name: "n", Type: kind.Int, Default: 7},
		{Name: "f", Type: kind.Number, Default: 1.5},
		{Name: "b", Type: kind.Bool, Default: true},
		{Name: "l", Type: kind.StringList},
		{Name: "m", Type: kind.StringMap},
		{Name: "req", Type: kind.String, Required: true},
	},
}

type read struct {
	s    string
	d    []byte
	n    int64
	f    float64
	secs time.Duration
	b    bool
	l    []string
	m    map[string]string
	req  string
}

// readAll reads every argument with NewArgs, as a kind's own test would.
func readAll(values ...kind.Value) (read, error) {
	a := kind.NewArgs(everything, nil, values)
	r := read{s: a.Str("s"), d: a.Data("d"), n: a.Int("n"), f: a.Float("f"), secs: a.Seconds("f"),
		b: a.Bool("b"), l: a.StrList("l"), m: a.StrMap("m"), req: a.Str("req")}
	return r, a.Err()
}

func str(name, s string) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueStr, Bytes: []byte(s)}
}

func TestDefaultsComeFromTheParamTable(t *testing.T) {
	for _, values := range [][]kind.Value{
		{str("req", "r")},
		{str("req", "r"), {Name: "s"}, {Name: "n"}, {Name: "f"}, {Name: "b"}}, // None is absent
	} {
		r, err := readAll(values...)
		if err != nil {
			t.Fatal(err)
		}
		if r.s != "dflt" || r.n != 7 || r.f != 1.5 || r.secs != 1500*time.Millisecond || !r.b ||
			r.d != nil || r.l != nil || r.m != nil || r.req != "r" {
			t.Fatalf("defaults: %+v", r)
		}
	}
}

func TestGivenValuesWin(t *testing.T) {
	r, err := readAll(str("req", "r"), str("s", "given"), kind.Value{Name: "n", Type: kind.ValueInt, Int: -3},
		kind.Value{Name: "f", Type: kind.ValueInt, Int: 2}, kind.Value{Name: "b", Type: kind.ValueBool},
		kind.Value{Name: "d", Type: kind.ValueBytes, Bytes: []byte{0, 1}},
		kind.Value{Name: "l", Type: kind.ValueList, Items: []kind.Value{str("", "x"), str("", "y")}},
		kind.Value{Name: "m", Type: kind.ValueMap, Items: []kind.Value{str("k", "v")}})
	if err != nil {
		t.Fatal(err)
	}
	if r.s != "given" || r.n != -3 || r.f != 2 || r.secs != 2*time.Second || r.b || string(r.d) != "\x00\x01" ||
		strings.Join(r.l, ",") != "x,y" || r.m["k"] != "v" {
		t.Fatalf("given: %+v", r)
	}
}

func TestArgumentErrorsNameTheArgument(t *testing.T) {
	for _, c := range []struct {
		values []kind.Value
		arg    string
		want   string
	}{
		{nil, "req", "is required"},
		{[]kind.Value{{Name: "req"}}, "req", "is required"},
		{[]kind.Value{str("req", "r"), {Name: "s", Type: kind.ValueInt}}, "s", "must be a string, got int"},
		{[]kind.Value{str("req", "r"), {Name: "n", Type: kind.ValueFloat}}, "n", "must be an int, got float"},
		{[]kind.Value{str("req", "r"), {Name: "n", Type: kind.ValueBool}}, "n", "must be an int, got bool"},
		{[]kind.Value{str("req", "r"), {Name: "f", Type: kind.ValueFloat, Float: math.NaN()}}, "f", "NaN"},
		{[]kind.Value{str("req", "r"), {Name: "f", Type: kind.ValueFloat, Float: -1}}, "f", "negative"},
		{[]kind.Value{str("req", "r"), {Name: "f", Type: kind.ValueFloat, Float: math.Inf(1)}}, "f", "too large"},
		{[]kind.Value{str("req", "r"), {Name: "d", Type: kind.ValueMap}}, "d", "must be a string or bytes, got map"},
		{[]kind.Value{str("req", "r"), {Name: "l", Type: kind.ValueList, Items: []kind.Value{{Type: kind.ValueInt}}}}, "l", "item 0 is int"},
		{[]kind.Value{str("req", "r"), {Name: "m", Type: kind.ValueMap, Items: []kind.Value{{Name: "k"}}}}, "m", "'k' maps to none"},
	} {
		_, err := readAll(c.values...)
		var ae *kind.ArgError
		if !errors.As(err, &ae) || ae.Kind != everything.Name || ae.Arg != c.arg || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an ArgError for '%s' containing %q", c.values, err, c.arg, c.want)
		}
		if !errors.Is(err, kind.ErrInvalidArgument) {
			t.Errorf("%v does not match ErrInvalidArgument", err)
		}
	}
}

func TestAGetterForAnUndeclaredParameterFails(t *testing.T) {
	a := kind.NewArgs(everything, nil, nil)
	a.Int("s") // declared, but a String
	if err := a.Err(); err == nil || !strings.Contains(err.Error(), "'s'") {
		t.Fatalf("Int on a String parameter: %v", err)
	}
	a = kind.NewArgs(everything, nil, nil)
	a.Str("nope")
	if err := a.Err(); err == nil || !strings.Contains(err.Error(), "'nope'") {
		t.Fatalf("Str on an undeclared parameter: %v", err)
	}
}

func TestIntInChecksTheDefaultToo(t *testing.T) {
	a := kind.NewArgs(everything, nil, nil)
	if n := a.IntIn("n", 0, 5); n != 0 || a.Err() == nil || !strings.Contains(a.Err().Error(), "between 0 and 5, got 7") {
		t.Fatalf("IntIn = %d, %v", n, a.Err())
	}
}

func init() {
	everything.Prepare = func(a *kind.Args) (kind.Work, error) {
		a.Str("req")
		return func(context.Context) (kind.Result, error) { return kind.Result{}, nil }, a.Err()
	}
	kind.Register(everything)
	kind.Register(&kind.Kind{
		Name: "test_wraps", Params: []kind.Param{{Name: "x", Type: kind.Int}},
		Prepare: func(a *kind.Args) (kind.Work, error) { return nil, fmt.Errorf("a plain error") },
	})
}

func TestPrepareRefusesUnknownAndRepeatedArguments(t *testing.T) {
	_, _, err := kind.Prepare(nil, everything.Name, []kind.Value{str("req", "r"), str("zeta", ""), str("alpha", "")})
	if err == nil || !strings.Contains(err.Error(), "unexpected arguments 'alpha', 'zeta' (takes: s, d, n, f, b, l, m, req)") {
		t.Fatalf("unknown arguments: %v", err)
	}
	_, _, err = kind.Prepare(nil, everything.Name, []kind.Value{str("req", "r"), str("s", "a"), str("s", "b")})
	if err == nil || !strings.Contains(err.Error(), "'s' is given twice") {
		t.Fatalf("repeated argument: %v", err)
	}
	// Declared parameters that Prepare did not read are checked all the same.
	_, _, err = kind.Prepare(nil, everything.Name, []kind.Value{str("req", "r"), {Name: "n", Type: kind.ValueStr}})
	if err == nil || !strings.Contains(err.Error(), "'n' must be an int") {
		t.Fatalf("unread parameter of the wrong type: %v", err)
	}
}

func TestPrepareLimitsAndWrapsErrors(t *testing.T) {
	values := make([]kind.Value, kind.MaxArgs+1)
	for i := range values {
		values[i] = str(fmt.Sprintf("a%d", i), "")
	}
	if _, _, err := kind.Prepare(nil, everything.Name, values); err == nil || !strings.Contains(err.Error(), "at most 64") {
		t.Fatalf("too many arguments: %v", err)
	}
	// The 64th argument (the last bit of the mask) is seen like the first.
	values = values[:kind.MaxArgs]
	values[kind.MaxArgs-1] = str("req", "last")
	if _, _, err := kind.Prepare(nil, everything.Name, values); err == nil || strings.Contains(err.Error(), "'req'") ||
		!strings.Contains(err.Error(), "'a0'") {
		t.Fatalf("64 arguments: %v", err)
	}
	// An error of any type from Prepare is an argument error of the kind.
	_, _, err := kind.Prepare(nil, "test_wraps", nil)
	var ae *kind.ArgError
	if !errors.As(err, &ae) || ae.Kind != "test_wraps" || !strings.Contains(err.Error(), "a plain error") {
		t.Fatalf("plain error: %v", err)
	}
	var ue *kind.UnknownKindError
	if _, _, err := kind.Prepare(nil, "test_no_such_kind", nil); !errors.As(err, &ue) || !strings.Contains(err.Error(), everything.Name) {
		t.Fatalf("unknown kind: %v", err)
	}
}

func TestTypeNames(t *testing.T) {
	want := map[kind.ValueType]string{
		kind.ValueNone: "none", kind.ValueStr: "string", kind.ValueBytes: "bytes", kind.ValueInt: "int",
		kind.ValueFloat: "float", kind.ValueBool: "bool", kind.ValueList: "list", kind.ValueMap: "map",
		kind.ValueStream: "channel", 42: "type 42",
	}
	for typ, s := range want {
		if got := typ.String(); got != s {
			t.Errorf("ValueType(%d).String() = %q, want %q", int32(typ), got, s)
		}
	}
	if got := (&kind.ArgError{Kind: "k", Arg: "a", Msg: "is bad"}).Error(); got != "k: argument 'a' is bad" {
		t.Fatalf("got %q", got)
	}
}

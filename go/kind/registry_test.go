package kind

import (
	"context"
	"strings"
	"testing"
	"time"
)

func validKind(name string) *Kind {
	return &Kind{Name: name, Prepare: func(*Args) (Work, error) {
		return func(context.Context) (Result, error) { return Result{}, nil }, nil
	}}
}

func TestRegisterTwiceNamesTheKindAndBothPackages(t *testing.T) {
	r := newRegistry()
	r.register(validKind("echo"), "example.com/first")
	r.register(validKind("echo"), "example.com/second")
	err := r.check()
	if err == nil {
		t.Fatal("a duplicate name was accepted")
	}
	for _, want := range []string{"'echo'", "example.com/first", "example.com/second"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("%q does not name %s", err, want)
		}
	}
	if e := r.kinds["echo"]; e.pkg != "example.com/first" {
		t.Fatalf("the second registration replaced the first: %+v", e)
	}
}

func TestRegisterRefusesIncompleteKinds(t *testing.T) {
	prepare := validKind("x").Prepare
	timer := func(*Args) (time.Duration, Result, error) { return 0, Result{}, nil }
	for _, c := range []struct {
		kind *Kind
		want string
	}{
		{&Kind{Prepare: prepare}, "needs a name"},
		{&Kind{Name: "neither"}, "exactly one of Prepare and Timer"},
		{&Kind{Name: "both", Prepare: prepare, Timer: timer}, "exactly one of Prepare and Timer"},
		{&Kind{Name: "untyped", Prepare: prepare, Params: []Param{{Name: "p"}}}, "no Type"},
		{&Kind{Name: "twice", Prepare: prepare, Params: []Param{{Name: "p", Type: Int}, {Name: "p", Type: Int}}}, "repeated"},
		{&Kind{Name: "bad_default", Prepare: prepare, Params: []Param{{Name: "p", Type: Int, Default: "1"}}}, "default of Go type string"},
		{&Kind{Name: "required_default", Prepare: prepare, Params: []Param{{Name: "p", Type: Bool, Required: true, Default: true}}}, "required and has a default"},
	} {
		r := newRegistry()
		r.register(c.kind, "example.com/k")
		err := r.check()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "example.com/k") {
			t.Errorf("register(%+v): %v, want an error containing %q and the package", c.kind, err, c.want)
		}
		if len(r.kinds) != 0 {
			t.Errorf("an invalid kind was registered: %v", r.kinds)
		}
	}
}

func TestCallerPackage(t *testing.T) {
	if got := callerPackage(1); got != "gogoroutines.dev/go/kind" {
		t.Fatalf("callerPackage = %q", got)
	}
}

func TestBuiltInRegistrationHasNoProblems(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
}

package cabi

import (
	"context"
	"testing"

	"gogoroutines.dev/go/kind"
	_ "gogoroutines.dev/go/kinds/echo"
)

func init() {
	kind.Register(&kind.Kind{Name: "test_info_user_kind", Prepare: func(*kind.Args) (kind.Work, error) {
		return func(context.Context) (kind.Result, error) { return kind.Result{}, nil }, nil
	}})
}

func TestInfoTellsBuiltInKindsFromAddedOnes(t *testing.T) {
	builtin := map[string]bool{}
	for _, k := range info()["kinds"].([]kindInfo) {
		builtin[k.Name] = k.Builtin
	}
	if !builtin["echo"] || builtin["test_info_user_kind"] {
		t.Fatalf("builtin flags: %v (prefix %q)", builtin, builtinPackages)
	}
}

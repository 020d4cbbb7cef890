package cabi

import (
	"path"
	"reflect"
	"runtime"
	"strings"
	"time"

	"gogoroutines.dev/go/engine"
	"gogoroutines.dev/go/kind"
)

// limits are the limits of gogo_limits, named as its fields are.
type limits struct {
	MaxConcurrency     int64 `json:"max_concurrency"`
	MaxLaneConcurrency int64 `json:"max_lane_concurrency"`
	MaxChannelCapacity int64 `json:"max_channel_capacity"`
	MaxArgs            int64 `json:"max_args"`
	MaxValueDepth      int64 `json:"max_value_depth"`
	MaxTimeoutNs       int64 `json:"max_timeout_ns"`
}

// goLimits gathers the limits, each defined once in the engine or kind.
func goLimits() limits {
	return limits{
		MaxConcurrency:     engine.MaxRuntimeConcurrency,
		MaxLaneConcurrency: engine.MaxLaneConcurrency,
		MaxChannelCapacity: engine.MaxChannelCapacity,
		MaxArgs:            kind.MaxArgs,
		MaxValueDepth:      kind.MaxValueDepth,
		MaxTimeoutNs:       int64(kind.MaxSeconds * time.Second),
	}
}

// kindInfo is one kind as gogo_info describes it.
type kindInfo struct {
	Name    string       `json:"name"`
	Doc     string       `json:"doc"`
	Params  []kind.Param `json:"params"`
	Inline  bool         `json:"inline"`
	Package string       `json:"package"` // the Go package that registered it
	Builtin bool         `json:"builtin"` // one of this module's kinds/<name> packages
}

// builtinPackages is the prefix of the built-in kinds' packages: those of
// the kinds directory of the module this package belongs to.
var builtinPackages = path.Dir(reflect.TypeOf(limits{}).PkgPath()) + "/kinds/"

// info is the document gogo_info writes: the Go runtime, the kinds, the
// limits that the layers above check before calling (each defined once, in
// Go), and what went wrong registering kinds.
func info() map[string]any {
	kinds := []kindInfo{}
	for _, name := range kind.Names() {
		k, _ := kind.Lookup(name)
		params := k.Params
		if params == nil {
			params = []kind.Param{}
		}
		pkg := kind.PackageOf(name)
		kinds = append(kinds, kindInfo{Name: k.Name, Doc: k.Doc, Params: params, Inline: k.Inline,
			Package: pkg, Builtin: strings.HasPrefix(pkg, builtinPackages)})
	}
	problems := []string{}
	if err := kind.Check(); err != nil {
		problems = append(problems, err.Error())
	}
	return map[string]any{
		"go_version": runtime.Version(),
		"gomaxprocs": runtime.GOMAXPROCS(0),
		"num_cpu":    runtime.NumCPU(),
		"goos":       runtime.GOOS,
		"goarch":     runtime.GOARCH,
		"kinds":      kinds,
		"limits":     goLimits(),
		"problems":   problems,
	}
}

package cabi

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// prototype matches one function prototype of a C header (possibly over
// several lines), from its return type to its semicolon.
var prototype = regexp.MustCompile(`(?m)^(?:extern )?(int|void) (gogo_\w+)\(([^;]*)\);`)

// signatures reads the gogo_* prototypes of a header as name -> the types of
// the return value and of each parameter, const and names left out (cgo
// cannot write const; the names are the two sides' own).
func signatures(t *testing.T, header string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range prototype.FindAllStringSubmatch(header, -1) {
		var params []string
		for _, p := range strings.Split(m[3], ",") {
			p = strings.Join(strings.Fields(strings.ReplaceAll(p, "const ", "")), " ")
			if i := strings.LastIndexAny(p, " *"); i >= 0 { // drop the name
				p = strings.ReplaceAll(p[:i+1], " ", "")
			}
			params = append(params, p)
		}
		out[m[2]] = m[1] + "(" + strings.Join(params, ",") + ")"
	}
	return out
}

// TestHeaderMatchesTheExports checks the prototypes of gogo_abi.h, the
// contract of the C ABI, against those cgo generates from exports.go.
func TestHeaderMatchesTheExports(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	dir := t.TempDir()
	cmd := exec.Command(goTool, "tool", "cgo", "-objdir", dir, "-exportheader", filepath.Join(dir, "export.h"), "exports.go")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go tool cgo: %v\n%s", err, out)
	}
	generated, err := os.ReadFile(filepath.Join(dir, "export.h"))
	if err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile("gogo_abi.h")
	if err != nil {
		t.Fatal(err)
	}
	want, got := signatures(t, string(generated)), signatures(t, string(written))
	if len(want) < 30 {
		t.Fatalf("found only %d exports in cgo's header", len(want))
	}
	for name, sig := range want {
		if got[name] != sig {
			t.Errorf("%s: gogo_abi.h says %q, the export is %q", name, got[name], sig)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("gogo_abi.h declares %s, which Go does not export", name)
		}
	}
	// Every prototype is documented: a comment ends right above it.
	for _, m := range prototype.FindAllStringIndex(string(written), -1) {
		before := strings.TrimRight(string(written[:m[0]]), "\n ")
		if !strings.HasSuffix(before, "*/") {
			t.Errorf("no comment documents %s", strings.SplitN(string(written[m[0]:m[1]]), "(", 2)[0])
		}
	}
}

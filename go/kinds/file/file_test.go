package file

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gogoroutines.dev/go/internal/testkit"
	"gogoroutines.dev/go/kind"
)

func TestFileWriteThenReadRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.bin")
	data := testkit.RandomBytes(3<<20 + 5)
	n, terr := testkit.Run(t, "write_file", testkit.Str("path", path), testkit.Bytes("data", data))
	if terr != nil || string(n) != "3145733" {
		t.Fatalf("write_file = %q, %v", n, terr)
	}
	got, terr := testkit.Run(t, "read_file", testkit.Str("path", path))
	if terr != nil || !bytes.Equal(got, data) {
		t.Fatalf("read_file returned %d bytes, %v", len(got), terr)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestWriteFileKeepsModeAndFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(path, []byte("old"), 0o750); err != nil {
		t.Fatal(err)
	}
	if _, terr := testkit.Run(t, "write_file", testkit.Str("path", path), testkit.Str("data", "new")); terr != nil {
		t.Fatal(terr)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o750 {
		t.Fatalf("mode %v, want 0750", info.Mode().Perm())
	}
	_, terr := testkit.Run(t, "write_file", testkit.Str("path", filepath.Join(dir, "missing", "f")), testkit.Str("data", "x"))
	if terr == nil || !strings.Contains(terr.Message, "no such file") {
		t.Fatalf("write into a missing directory: %v", terr)
	}
}

func TestReadFileLimitsAndErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, testkit.RandomBytes(1000), 0o644)
	if _, terr := testkit.Run(t, "read_file", testkit.Str("path", path), testkit.Int("max_bytes", 999)); terr == nil ||
		!strings.Contains(terr.Message, "max_bytes") {
		t.Fatalf("max_bytes not enforced: %v", terr)
	}
	if _, terr := testkit.Run(t, "read_file", testkit.Str("path", path+".missing")); terr == nil ||
		!strings.Contains(terr.Message, "read_file") {
		t.Fatalf("missing file: %v", terr)
	}
}

func TestFileArgumentsAreValidatedAtSpawn(t *testing.T) {
	testkit.SpawnFails(t, "write_file", []kind.Value{testkit.Str("path", "/tmp/x")}, "'data' is required")
	testkit.SpawnFails(t, "read_file", []kind.Value{testkit.Int("path", 3)}, "'path' must be a str")
}

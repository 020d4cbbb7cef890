package all_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gogoroutines.dev/go/engine"
	"gogoroutines.dev/go/internal/testkit"
	"gogoroutines.dev/go/kind"
	_ "gogoroutines.dev/go/kinds/all"
)

// runKind spawns a task of kind, waits for it and returns its result or error.
func runKind(t *testing.T, kind string, values ...kind.Value) ([]byte, *engine.TaskError) {
	t.Helper()
	rt := testkit.NewRuntime(t, 0)
	defer rt.Close()
	task, _, err := rt.SpawnTask(kind, values, 0)
	if err != nil {
		t.Fatalf("spawn %s: %v", kind, err)
	}
	if _, _, err := rt.Wait(task.ID, 10*time.Second); err != nil {
		t.Fatalf("wait %s: %v", kind, err)
	}
	return task.Result().Data, task.Err()
}

func TestFileWriteThenReadRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.bin")
	data := testkit.RandomBytes(3<<20 + 5)
	n, terr := runKind(t, "write_file", testkit.Str("path", path), testkit.Bytes("data", data))
	if terr != nil || string(n) != "3145733" {
		t.Fatalf("write_file = %q, %v", n, terr)
	}
	got, terr := runKind(t, "read_file", testkit.Str("path", path))
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
	if _, terr := runKind(t, "write_file", testkit.Str("path", path), testkit.Str("data", "new")); terr != nil {
		t.Fatal(terr)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o750 {
		t.Fatalf("mode %v, want 0750", info.Mode().Perm())
	}
	_, terr := runKind(t, "write_file", testkit.Str("path", filepath.Join(dir, "missing", "f")), testkit.Str("data", "x"))
	if terr == nil || !strings.Contains(terr.Message, "no such file") {
		t.Fatalf("write into a missing directory: %v", terr)
	}
}

func TestReadFileLimitsAndErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, testkit.RandomBytes(1000), 0o644)
	if _, terr := runKind(t, "read_file", testkit.Str("path", path), testkit.Int("max_bytes", 999)); terr == nil ||
		!strings.Contains(terr.Message, "max_bytes") {
		t.Fatalf("max_bytes not enforced: %v", terr)
	}
	if _, terr := runKind(t, "read_file", testkit.Str("path", path+".missing")); terr == nil ||
		!strings.Contains(terr.Message, "read_file") {
		t.Fatalf("missing file: %v", terr)
	}
}

func TestHashMatchesTheStandardLibrary(t *testing.T) {
	data := testkit.RandomBytes(5<<20 + 3)
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, data, 0o644)
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	for _, src := range []kind.Value{testkit.Bytes("data", data), testkit.Str("path", path)} {
		got, terr := runKind(t, "hash", src)
		if terr != nil || string(got) != want {
			t.Fatalf("hash(%s) = %s, %v; want %s", src.Name, got, terr, want)
		}
	}
	got, _ := runKind(t, "hash", testkit.Str("data", "abc"), testkit.Str("algorithm", "md5"))
	if string(got) != "900150983cd24fb0d6963f7d28e17f72" {
		t.Fatalf("md5(abc) = %s", got)
	}
}

func TestSourceArgumentsAreValidatedAtSpawn(t *testing.T) {
	rt := testkit.NewRuntime(t, 0)
	defer rt.Close()
	cases := []struct {
		kind   string
		values []kind.Value
		want   string
	}{
		{"hash", nil, "'data' or 'path' is required"},
		{"hash", []kind.Value{testkit.Str("data", "x"), testkit.Str("path", "/p")}, "pass exactly one"},
		{"hash", []kind.Value{testkit.Str("data", "x"), testkit.Str("algorithm", "crc32")}, "'algorithm'"},
		{"gzip", []kind.Value{testkit.Str("data", "x"), testkit.Int("level", 10)}, "'level'"},
		{"gzip", []kind.Value{testkit.Str("data", "x"), testkit.Str("level", "9")}, "'level' must be an int"},
		{"gunzip", []kind.Value{testkit.Bytes("data", nil), testkit.Int("max_bytes", -1)}, "'max_bytes'"},
		{"write_file", []kind.Value{testkit.Str("path", "/tmp/x")}, "'data' is required"},
		{"read_file", []kind.Value{testkit.Int("path", 3)}, "'path' must be a str"},
	}
	for _, c := range cases {
		_, err := rt.Spawn(c.kind, c.values, 0)
		var argErr *kind.ArgError
		if !errors.As(err, &argErr) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: error %v, want one containing %q", c.kind, c.values, err, c.want)
		}
	}
}

func TestGzipRoundTripAndBombGuard(t *testing.T) {
	data := bytes.Repeat([]byte("gogoroutines "), 100000)
	packed, terr := runKind(t, "gzip", testkit.Bytes("data", data), testkit.Int("level", 9))
	if terr != nil || len(packed) >= len(data)/10 {
		t.Fatalf("gzip: %d bytes, %v", len(packed), terr)
	}
	zr, err := gzip.NewReader(bytes.NewReader(packed))
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	plain.ReadFrom(zr)
	if !bytes.Equal(plain.Bytes(), data) {
		t.Fatal("the standard library does not read back what gzip wrote")
	}
	back, terr := runKind(t, "gunzip", testkit.Bytes("data", packed))
	if terr != nil || !bytes.Equal(back, data) {
		t.Fatalf("gunzip: %d bytes, %v", len(back), terr)
	}
	if _, terr := runKind(t, "gunzip", testkit.Bytes("data", packed), testkit.Int("max_bytes", 1000)); terr == nil ||
		!strings.Contains(terr.Message, "max_bytes") {
		t.Fatalf("max_bytes not enforced: %v", terr)
	}
	if _, terr := runKind(t, "gunzip", testkit.Bytes("data", []byte("definitely not gzip"))); terr == nil {
		t.Fatal("gunzip of garbage succeeded")
	}
}

package hash_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"gogoroutines.dev/go/internal/testkit"
	"gogoroutines.dev/go/kind"
	_ "gogoroutines.dev/go/kinds/hash"
)

func TestHashMatchesTheStandardLibrary(t *testing.T) {
	data := testkit.RandomBytes(5<<20 + 3)
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, data, 0o644)
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	for _, src := range []kind.Value{testkit.Bytes("data", data), testkit.Str("path", path)} {
		got, terr := testkit.Run(t, "hash", src)
		if terr != nil || string(got) != want {
			t.Fatalf("hash(%s) = %s, %v; want %s", src.Name, got, terr, want)
		}
	}
	got, _ := testkit.Run(t, "hash", testkit.Str("data", "abc"), testkit.Str("algorithm", "md5"))
	if string(got) != "900150983cd24fb0d6963f7d28e17f72" {
		t.Fatalf("md5(abc) = %s", got)
	}
}

func TestHashArgumentsAreValidatedAtSpawn(t *testing.T) {
	testkit.SpawnFails(t, "hash", nil, "'data' or 'path' is required")
	testkit.SpawnFails(t, "hash", []kind.Value{testkit.Str("data", "x"), testkit.Str("path", "/p")}, "pass exactly one")
	testkit.SpawnFails(t, "hash", []kind.Value{testkit.Str("data", "x"), testkit.Str("algorithm", "crc32")}, "'algorithm'")
}

package gzip_test

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"gogoroutines.dev/go/internal/testkit"
	"gogoroutines.dev/go/kind"
	_ "gogoroutines.dev/go/kinds/gzip"
)

func TestGzipRoundTripAndBombGuard(t *testing.T) {
	data := bytes.Repeat([]byte("gogoroutines "), 100000)
	packed, terr := testkit.Run(t, "gzip", testkit.Bytes("data", data), testkit.Int("level", 9))
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
	back, terr := testkit.Run(t, "gunzip", testkit.Bytes("data", packed))
	if terr != nil || !bytes.Equal(back, data) {
		t.Fatalf("gunzip: %d bytes, %v", len(back), terr)
	}
	if _, terr := testkit.Run(t, "gunzip", testkit.Bytes("data", packed), testkit.Int("max_bytes", 1000)); terr == nil ||
		!strings.Contains(terr.Message, "max_bytes") {
		t.Fatalf("max_bytes not enforced: %v", terr)
	}
	if _, terr := testkit.Run(t, "gunzip", testkit.Bytes("data", []byte("definitely not gzip"))); terr == nil {
		t.Fatal("gunzip of garbage succeeded")
	}
}

func TestGzipArgumentsAreValidatedAtSpawn(t *testing.T) {
	testkit.SpawnFails(t, "gzip", []kind.Value{testkit.Str("data", "x"), testkit.Int("level", 10)}, "'level'")
	testkit.SpawnFails(t, "gzip", []kind.Value{testkit.Str("data", "x"), testkit.Str("level", "9")}, "'level' must be an int")
	testkit.SpawnFails(t, "gunzip", []kind.Value{testkit.Bytes("data", nil), testkit.Int("max_bytes", -1)}, "'max_bytes'")
}

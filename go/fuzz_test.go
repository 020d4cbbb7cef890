package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Fuzzing of argument decoding and validation: the values a spawn hands to
// prepare (kind lookup, Args accessors, each kind's Prepare, Args.Done).
//
//	go test -run '^$' -fuzz FuzzPrepare -fuzztime 10s
//
// FuzzPrepare builds a []Value from fuzzed bytes and calls prepare(nil, kind,
// values) for the fuzzed kind name and for every registered kind. Whatever
// the input, prepare must not panic, and it either succeeds with work to run
// or fails with an *ArgError (a bad argument) or an *UnknownKindError. The
// work is never run: the inputs include exec argv and write_file paths.
//
// The seed corpus lives in testdata/fuzz/FuzzPrepare/; `go test` runs it as
// ordinary tests. GOGO_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds
// rewrites it from fuzzSeeds below.

// fuzzNames are the argument names a fuzzed value can take by index, so that
// the fuzzer reaches each kind's accessors without guessing names. The order
// is fixed (the committed seeds index into it); parameters of kinds added
// later are appended by fuzzNameTable.
var fuzzNames = []string{
	"data", "path", "seconds", "delay_ms", "task", "url", "method", "headers",
	"body", "retries", "backoff", "max_bytes", "follow_redirects",
	"raise_for_status", "verify", "argv", "stdin", "env", "cwd", "check",
	"algorithm", "level", "key", "value", "timeout", "",
}

// fuzzNameTable returns fuzzNames followed by any parameter name of a
// registered kind that fuzzNames lacks, in sorted order.
func fuzzNameTable() []string {
	have := map[string]bool{}
	for _, n := range fuzzNames {
		have[n] = true
	}
	var extra []string
	for _, name := range kindNames() {
		for _, p := range kinds[name].Params {
			if !have[p.Name] {
				have[p.Name] = true
				extra = append(extra, p.Name)
			}
		}
	}
	sort.Strings(extra)
	return append(append([]string(nil), fuzzNames...), extra...)
}

// fuzzReader hands out the fuzzed bytes; once they run out it returns zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) u64() uint64 {
	var buf [8]byte
	n := copy(buf[:], r.b)
	r.b = r.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

// chunk returns a length-prefixed run of bytes: one length byte, or 0xff
// followed by a two-byte length (up to 64 KiB).
func (r *fuzzReader) chunk() []byte {
	n := int(r.byte())
	if n == 0xff {
		n = int(r.byte()) | int(r.byte())<<8
	}
	n = min(n, len(r.b))
	c := append([]byte{}, r.b[:n]...)
	r.b = r.b[n:]
	return c
}

// The encoding of one value (fuzzValue), kept simple for the fuzzer:
//
//	tag byte     low 4 bits: the type code, kept as it is (codes beyond the
//	             known types must be rejected); high 4 bits: unused
//	name byte    < 0xf0: fuzzNameTable()[b % len]; >= 0xf0: a chunk of raw name bytes
//	payload      str/bytes: a chunk; float: 8 bytes little-endian (IEEE bits);
//	             list/map: a count byte (% 8), then the items; any other type
//	             (int, bool, a channel handle, unknown codes): 8 bytes little-endian
//	             into Int
//
// The input starts with a count byte: values = count % 72 (MaxArgs is 64).
const (
	fuzzMaxValues = 72
	fuzzMaxItems  = 8
	fuzzMaxDepth  = 9
	fuzzRawName   = 0xf0
)

func fuzzValue(r *fuzzReader, names []string, depth int) Value {
	tag := r.byte()
	v := Value{Type: ValueType(tag & 0x0f)}
	if nb := r.byte(); nb < fuzzRawName {
		v.Name = names[int(nb)%len(names)]
	} else {
		v.Name = string(r.chunk())
	}
	switch v.Type {
	case TypeStr, TypeBytes:
		v.Bytes = r.chunk()
	case TypeFloat:
		v.Float = math.Float64frombits(r.u64())
	case TypeList, TypeMap:
		n := int(r.byte()) % fuzzMaxItems
		if depth >= fuzzMaxDepth {
			n = 0
		}
		for i := 0; i < n; i++ {
			v.Items = append(v.Items, fuzzValue(r, names, depth+1))
		}
	default:
		v.Int = int64(r.u64())
	}
	return v
}

// fuzzValues decodes a whole input into the arguments of one spawn.
func fuzzValues(data []byte, names []string) []Value {
	r := &fuzzReader{b: data}
	n := int(r.byte()) % fuzzMaxValues
	values := make([]Value, 0, n)
	for i := 0; i < n; i++ {
		values = append(values, fuzzValue(r, names, 0))
	}
	return values
}

// checkPrepare calls prepare and fails t unless it returned work or one of
// the two errors a bad spawn may give.
func checkPrepare(t *testing.T, kind string, values []Value) {
	t.Helper()
	var (
		k   *Kind
		p   plan
		err error
	)
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("prepare(%q) panicked: %v\nvalues: %s", kind, r, describeValues(values))
			}
		}()
		k, p, err = prepare(nil, kind, values)
	}()
	var argErr *ArgError
	var kindErr *UnknownKindError
	switch {
	case err == nil:
		if k == nil || (p.work == nil && !p.timed) || k.Name != kind {
			t.Fatalf("prepare(%q) succeeded with kind %v and plan %+v", kind, k, p)
		}
	case errors.As(err, &argErr):
		if _, known := kinds[kind]; !known || argErr.Kind != kind {
			t.Fatalf("prepare(%q): ArgError for kind %q", kind, argErr.Kind)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, kind+": ") {
			t.Fatalf("prepare(%q): message %q does not start with the kind", kind, msg)
		}
	case errors.As(err, &kindErr):
		if _, known := kinds[kind]; known || kindErr.Name != kind {
			t.Fatalf("prepare(%q): UnknownKindError for %q", kind, kindErr.Name)
		}
		_ = err.Error()
	default:
		t.Fatalf("prepare(%q): error %T %v, want *ArgError or *UnknownKindError\nvalues: %s",
			kind, err, err, describeValues(values))
	}
}

func describeValues(values []Value) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprintf("%q:%s", v.Name, v.Type)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func FuzzPrepare(f *testing.F) {
	names := fuzzNameTable()
	for _, s := range fuzzSeeds() {
		f.Add(s.kind, s.data)
	}
	f.Fuzz(func(t *testing.T, kind string, data []byte) {
		// The fuzzed kind name: a registered kind or an UnknownKindError.
		checkPrepare(t, kind, fuzzValues(data, names))
		// The same arguments for every kind (decoded afresh: prepare gets
		// values of its own, as it does from the C ABI).
		for _, name := range kindNames() {
			checkPrepare(t, name, fuzzValues(data, names))
		}
	})
}

// ---- the seed corpus --------------------------------------------------------

// fuzzEncoder writes the encoding fuzzValues reads.
type fuzzEncoder struct {
	names []string
	buf   []byte
}

func (e *fuzzEncoder) chunk(b []byte) {
	if len(b) >= 0xff {
		e.buf = append(e.buf, 0xff, byte(len(b)), byte(len(b)>>8))
	} else {
		e.buf = append(e.buf, byte(len(b)))
	}
	e.buf = append(e.buf, b...)
}

func (e *fuzzEncoder) value(v Value) {
	e.buf = append(e.buf, byte(v.Type)&0x0f)
	index := -1
	for i, n := range e.names {
		if n == v.Name && i < fuzzRawName {
			index = i
			break
		}
	}
	if index >= 0 {
		e.buf = append(e.buf, byte(index))
	} else {
		e.buf = append(e.buf, fuzzRawName)
		e.chunk([]byte(v.Name))
	}
	switch v.Type {
	case TypeStr, TypeBytes:
		e.chunk(v.Bytes)
	case TypeFloat:
		e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v.Float))
	case TypeList, TypeMap:
		e.buf = append(e.buf, byte(len(v.Items)))
		for _, item := range v.Items {
			e.value(item)
		}
	default:
		e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(v.Int))
	}
}

func encodeValues(values []Value) []byte {
	e := &fuzzEncoder{names: fuzzNames, buf: []byte{byte(len(values))}}
	for _, v := range values {
		e.value(v)
	}
	return e.buf
}

type fuzzSeed struct {
	name string
	kind string
	data []byte
}

func fuzzList(name string, items ...Value) Value {
	return Value{Name: name, Type: TypeList, Items: items}
}
func fuzzDict(name string, items ...Value) Value {
	return Value{Name: name, Type: TypeMap, Items: items}
}

// fuzzSeeds are valid spawns of every kind and the edge cases of each
// accessor: they start the fuzzer next to the interesting branches.
func fuzzSeeds() []fuzzSeed {
	manyArgs := make([]Value, 65)
	for i := range manyArgs {
		manyArgs[i] = vInt("arg"+strconv.Itoa(i), int64(i))
	}
	nested := vStr("leaf", "x")
	for i := 0; i < 6; i++ {
		nested = fuzzList("data", nested)
	}
	seeds := []struct {
		name   string
		kind   string
		values []Value
	}{
		{"empty", "goroutine", nil},
		{"unknown_kind", "no_such_kind", []Value{vStr("data", "x")}},
		{"kind_with_nul", "echo\x00", []Value{vStr("data", "x")}},
		{"echo_str", "echo", []Value{vStr("data", "hello")}},
		{"echo_nul_bytes", "echo", []Value{vBytes("data", []byte("a\x00b\xff"))}},
		{"echo_none", "echo", []Value{vNone("data")}},
		{"echo_wrong_type", "echo", []Value{vInt("data", 1)}},
		{"echo_extra", "echo", []Value{vStr("data", "x"), vInt("extra\x00name", 1)}},
		{"echo_duplicate", "echo", []Value{vStr("data", "x"), vStr("data", "y")}},
		{"invalid_type_code", "echo", []Value{{Name: "data", Type: ValueType(15), Int: 1}}},
		{"type_code_8", "echo", []Value{vStr("data", "x"), {Name: "extra", Type: ValueType(8), Int: 1}}},
		{"too_many_args", "echo", manyArgs},
		{"task", "task", []Value{vStr("task", "Fetch users")}},
		{"delayed", "delayed", []Value{vInt("delay_ms", 20)}},
		{"delayed_negative", "delayed", []Value{vInt("delay_ms", -1)}},
		{"delayed_min_int", "delayed", []Value{vInt("delay_ms", math.MinInt64)}},
		{"delayed_max_int", "delayed", []Value{vInt("delay_ms", math.MaxInt64)}},
		{"sleep", "sleep", []Value{vFloat("seconds", 0.5)}},
		{"sleep_nan", "sleep", []Value{vFloat("seconds", math.NaN())}},
		{"sleep_inf", "sleep", []Value{vFloat("seconds", math.Inf(1))}},
		{"sleep_neg_inf", "sleep", []Value{vFloat("seconds", math.Inf(-1))}},
		{"sleep_neg_zero", "sleep", []Value{vFloat("seconds", math.Copysign(0, -1))}},
		{"sleep_max_seconds", "sleep", []Value{vFloat("seconds", maxSeconds)}},
		{"sleep_int", "sleep", []Value{vInt("seconds", 1)}},
		{"read_file", "read_file", []Value{vStr("path", "/nonexistent"), vInt("max_bytes", 10)}},
		{"write_file", "write_file", []Value{vStr("path", "/nonexistent/x"), vBytes("data", []byte{0})}},
		{"hash_data", "hash", []Value{vBytes("data", []byte("abc")), vStr("algorithm", "sha512")}},
		{"hash_both", "hash", []Value{vBytes("data", []byte("abc")), vStr("path", "/x")}},
		{"hash_bad_algorithm", "hash", []Value{vBytes("data", nil), vStr("algorithm", "crc32")}},
		{"gzip_level", "gzip", []Value{vBytes("data", []byte("abc")), vInt("level", 9)}},
		{"gzip_bad_level", "gzip", []Value{vBytes("data", []byte("abc")), vInt("level", 99)}},
		{"gunzip", "gunzip", []Value{vBytes("data", []byte{0x1f, 0x8b}), vInt("max_bytes", 1)}},
		{"exec", "exec", []Value{fuzzList("argv", vStr("", "/bin/echo"), vStr("", "a;b")),
			vBytes("stdin", []byte("in")), fuzzDict("env", vStr("K", "V")), vStr("cwd", "/"),
			vBool("check", false), vInt("max_bytes", 100)}},
		{"exec_empty_argv", "exec", []Value{fuzzList("argv")}},
		{"exec_argv_not_str", "exec", []Value{fuzzList("argv", vInt("", 1))}},
		{"exec_env_bad_name", "exec", []Value{fuzzList("argv", vStr("", "x")), fuzzDict("env", vStr("A=B", "C"))}},
		{"http", "http", []Value{vStr("url", "http://127.0.0.1:1/x"), vStr("method", "POST"),
			fuzzDict("headers", vStr("X-A", "b")), vBytes("body", []byte("b")), vInt("retries", 2),
			vFloat("backoff", 0.01), vInt("max_bytes", 1), vBool("follow_redirects", false),
			vBool("raise_for_status", false), vBool("verify", false)}},
		{"http_bad_url", "http", []Value{vStr("url", "ftp://%zz")}},
		{"http_bad_method", "http", []Value{vStr("url", "http://h/"), vStr("method", "GET X")}},
		{"http_header_crlf", "http", []Value{vStr("url", "http://h/"), fuzzDict("headers", vStr("A", "b\r\nC: d"))}},
		{"nested_deep", "echo", []Value{nested}},
		{"map_of_lists", "http", []Value{vStr("url", "http://h/"), fuzzDict("headers", fuzzList("A", vStr("", "x")))}},
	}
	out := make([]fuzzSeed, len(seeds))
	for i, s := range seeds {
		out[i] = fuzzSeed{name: s.name, kind: s.kind, data: encodeValues(s.values)}
	}
	return out
}

// TestFuzzEncodingRoundTrips checks that the seeds decode to what they encode,
// so that the committed corpus means what fuzzSeeds says.
func TestFuzzEncodingRoundTrips(t *testing.T) {
	names := fuzzNameTable()
	values := []Value{
		vStr("data", "a\x00b"), vBytes("odd name", make([]byte, 300)), vInt("seconds", math.MinInt64),
		vFloat("backoff", -0.5), vBool("verify", true), vNone("path"),
		fuzzList("argv", vStr("", "x"), fuzzList("", vInt("", 1))), fuzzDict("env", vStr("K", "V")),
		{Name: "data", Type: ValueType(12), Int: -5},
	}
	got := fuzzValues(encodeValues(values), names)
	if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", normalize(values)) {
		t.Fatalf("round trip changed the values:\n got %#v\nwant %#v", got, normalize(values))
	}
}

// normalize gives values the shape the decoder produces (empty, not nil, payloads).
func normalize(values []Value) []Value {
	out := make([]Value, len(values))
	for i, v := range values {
		if v.Type == TypeStr || v.Type == TypeBytes {
			v.Bytes = append([]byte{}, v.Bytes...)
		}
		if v.Items != nil {
			v.Items = normalize(v.Items)
		}
		out[i] = v
	}
	return out
}

// TestWriteFuzzSeeds rewrites testdata/fuzz/FuzzPrepare from fuzzSeeds when
// GOGO_WRITE_FUZZ_SEEDS=1; otherwise it checks that the committed corpus has
// a file for every seed.
func TestWriteFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzPrepare")
	write := os.Getenv("GOGO_WRITE_FUZZ_SEEDS") == "1"
	if write {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range fuzzSeeds() {
		path := filepath.Join(dir, "seed_"+s.name)
		text := fmt.Sprintf("go test fuzz v1\nstring(%s)\n[]byte(%s)\n",
			strconv.Quote(s.kind), strconv.Quote(string(s.data)))
		if write {
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("the seed corpus lacks %s (GOGO_WRITE_FUZZ_SEEDS=1 writes it): %v", path, err)
		}
		if string(got) != text {
			t.Fatalf("%s differs from fuzzSeeds (GOGO_WRITE_FUZZ_SEEDS=1 rewrites it)", path)
		}
	}
}

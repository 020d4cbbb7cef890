package all_test

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

	"gogoroutines.dev/go/internal/testkit"
	"gogoroutines.dev/go/kind"
	_ "gogoroutines.dev/go/kinds/all"
)

// Fuzzing of argument decoding and validation: the values a spawn hands to
// prepare (kind lookup, Args accessors, each kind's Prepare, Args.Done).
//
//	go test -run '^$' -fuzz FuzzPrepare -fuzztime 10s
//
// FuzzPrepare builds a []kind.Value from fuzzed bytes and calls kind.Prepare(nil, kind,
// values) for the fuzzed kind name and for every registered kind. Whatever
// the input, prepare must not panic, and it either succeeds with work to run
// or fails with an *kind.ArgError (a bad argument) or an *kind.UnknownKindError. The
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
	for _, name := range kind.Names() {
		for _, p := range lookup(name).Params {
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

func fuzzValue(r *fuzzReader, names []string, depth int) kind.Value {
	tag := r.byte()
	v := kind.Value{Type: kind.ValueType(tag & 0x0f)}
	if nb := r.byte(); nb < fuzzRawName {
		v.Name = names[int(nb)%len(names)]
	} else {
		v.Name = string(r.chunk())
	}
	switch v.Type {
	case kind.ValueStr, kind.ValueBytes:
		v.Bytes = r.chunk()
	case kind.ValueFloat:
		v.Float = math.Float64frombits(r.u64())
	case kind.ValueList, kind.ValueMap:
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
func fuzzValues(data []byte, names []string) []kind.Value {
	r := &fuzzReader{b: data}
	n := int(r.byte()) % fuzzMaxValues
	values := make([]kind.Value, 0, n)
	for i := 0; i < n; i++ {
		values = append(values, fuzzValue(r, names, 0))
	}
	return values
}

// checkPrepare calls prepare and fails t unless it returned work or one of
// the two errors a bad spawn may give.
func checkPrepare(t *testing.T, name string, values []kind.Value) {
	t.Helper()
	var (
		k   *kind.Kind
		p   kind.Plan
		err error
	)
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("prepare(%q) panicked: %v\nvalues: %s", name, r, describeValues(values))
			}
		}()
		k, p, err = kind.Prepare(nil, name, values)
	}()
	var argErr *kind.ArgError
	var kindErr *kind.UnknownKindError
	switch {
	case err == nil:
		if k == nil || p.Work == nil || k.Name != name {
			t.Fatalf("prepare(%q) succeeded with kind %v and plan %+v", name, k, p)
		}
	case errors.As(err, &argErr):
		if _, known := kind.Lookup(name); !known || argErr.Kind != name {
			t.Fatalf("prepare(%q): ArgError for kind %q", name, argErr.Kind)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, name+": ") {
			t.Fatalf("prepare(%q): message %q does not start with the kind", name, msg)
		}
	case errors.As(err, &kindErr):
		if _, known := kind.Lookup(name); known || kindErr.Name != name {
			t.Fatalf("prepare(%q): UnknownKindError for %q", name, kindErr.Name)
		}
		_ = err.Error()
	default:
		t.Fatalf("prepare(%q): error %T %v, want *kind.ArgError or *kind.UnknownKindError\nvalues: %s",
			name, err, err, describeValues(values))
	}
}

func describeValues(values []kind.Value) string {
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
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		// The fuzzed kind name: a registered kind or an UnknownKindError.
		checkPrepare(t, name, fuzzValues(data, names))
		// The same arguments for every kind (decoded afresh: prepare gets
		// values of its own, as it does from the C ABI).
		for _, known := range kind.Names() {
			checkPrepare(t, known, fuzzValues(data, names))
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

func (e *fuzzEncoder) value(v kind.Value) {
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
	case kind.ValueStr, kind.ValueBytes:
		e.chunk(v.Bytes)
	case kind.ValueFloat:
		e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v.Float))
	case kind.ValueList, kind.ValueMap:
		e.buf = append(e.buf, byte(len(v.Items)))
		for _, item := range v.Items {
			e.value(item)
		}
	default:
		e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(v.Int))
	}
}

func encodeValues(values []kind.Value) []byte {
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

func fuzzList(name string, items ...kind.Value) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueList, Items: items}
}
func fuzzDict(name string, items ...kind.Value) kind.Value {
	return kind.Value{Name: name, Type: kind.ValueMap, Items: items}
}

// fuzzSeeds are valid spawns of every kind and the edge cases of each
// accessor: they start the fuzzer next to the interesting branches.
func fuzzSeeds() []fuzzSeed {
	manyArgs := make([]kind.Value, 65)
	for i := range manyArgs {
		manyArgs[i] = testkit.Int("arg"+strconv.Itoa(i), int64(i))
	}
	nested := testkit.Str("leaf", "x")
	for i := 0; i < 6; i++ {
		nested = fuzzList("data", nested)
	}
	seeds := []struct {
		name   string
		kind   string
		values []kind.Value
	}{
		{"empty", "goroutine", nil},
		{"unknown_kind", "no_such_kind", []kind.Value{testkit.Str("data", "x")}},
		{"kind_with_nul", "echo\x00", []kind.Value{testkit.Str("data", "x")}},
		{"echo_str", "echo", []kind.Value{testkit.Str("data", "hello")}},
		{"echo_nul_bytes", "echo", []kind.Value{testkit.Bytes("data", []byte("a\x00b\xff"))}},
		{"echo_none", "echo", []kind.Value{testkit.None("data")}},
		{"echo_wrong_type", "echo", []kind.Value{testkit.Int("data", 1)}},
		{"echo_extra", "echo", []kind.Value{testkit.Str("data", "x"), testkit.Int("extra\x00name", 1)}},
		{"echo_duplicate", "echo", []kind.Value{testkit.Str("data", "x"), testkit.Str("data", "y")}},
		{"invalid_type_code", "echo", []kind.Value{{Name: "data", Type: kind.ValueType(15), Int: 1}}},
		{"type_code_8", "echo", []kind.Value{testkit.Str("data", "x"), {Name: "extra", Type: kind.ValueType(8), Int: 1}}},
		{"too_many_args", "echo", manyArgs},
		{"task", "task", []kind.Value{testkit.Str("task", "Fetch users")}},
		{"delayed", "delayed", []kind.Value{testkit.Int("delay_ms", 20)}},
		{"delayed_negative", "delayed", []kind.Value{testkit.Int("delay_ms", -1)}},
		{"delayed_min_int", "delayed", []kind.Value{testkit.Int("delay_ms", math.MinInt64)}},
		{"delayed_max_int", "delayed", []kind.Value{testkit.Int("delay_ms", math.MaxInt64)}},
		{"sleep", "sleep", []kind.Value{testkit.Float("seconds", 0.5)}},
		{"sleep_nan", "sleep", []kind.Value{testkit.Float("seconds", math.NaN())}},
		{"sleep_inf", "sleep", []kind.Value{testkit.Float("seconds", math.Inf(1))}},
		{"sleep_neg_inf", "sleep", []kind.Value{testkit.Float("seconds", math.Inf(-1))}},
		{"sleep_neg_zero", "sleep", []kind.Value{testkit.Float("seconds", math.Copysign(0, -1))}},
		{"sleep_max_seconds", "sleep", []kind.Value{testkit.Float("seconds", kind.MaxSeconds)}},
		{"sleep_int", "sleep", []kind.Value{testkit.Int("seconds", 1)}},
		{"read_file", "read_file", []kind.Value{testkit.Str("path", "/nonexistent"), testkit.Int("max_bytes", 10)}},
		{"write_file", "write_file", []kind.Value{testkit.Str("path", "/nonexistent/x"), testkit.Bytes("data", []byte{0})}},
		{"hash_data", "hash", []kind.Value{testkit.Bytes("data", []byte("abc")), testkit.Str("algorithm", "sha512")}},
		{"hash_both", "hash", []kind.Value{testkit.Bytes("data", []byte("abc")), testkit.Str("path", "/x")}},
		{"hash_bad_algorithm", "hash", []kind.Value{testkit.Bytes("data", nil), testkit.Str("algorithm", "crc32")}},
		{"gzip_level", "gzip", []kind.Value{testkit.Bytes("data", []byte("abc")), testkit.Int("level", 9)}},
		{"gzip_bad_level", "gzip", []kind.Value{testkit.Bytes("data", []byte("abc")), testkit.Int("level", 99)}},
		{"gunzip", "gunzip", []kind.Value{testkit.Bytes("data", []byte{0x1f, 0x8b}), testkit.Int("max_bytes", 1)}},
		{"exec", "exec", []kind.Value{fuzzList("argv", testkit.Str("", "/bin/echo"), testkit.Str("", "a;b")),
			testkit.Bytes("stdin", []byte("in")), fuzzDict("env", testkit.Str("K", "V")), testkit.Str("cwd", "/"),
			testkit.Bool("check", false), testkit.Int("max_bytes", 100)}},
		{"exec_empty_argv", "exec", []kind.Value{fuzzList("argv")}},
		{"exec_argv_not_str", "exec", []kind.Value{fuzzList("argv", testkit.Int("", 1))}},
		{"exec_env_bad_name", "exec", []kind.Value{fuzzList("argv", testkit.Str("", "x")), fuzzDict("env", testkit.Str("A=B", "C"))}},
		{"http", "http", []kind.Value{testkit.Str("url", "http://127.0.0.1:1/x"), testkit.Str("method", "POST"),
			fuzzDict("headers", testkit.Str("X-A", "b")), testkit.Bytes("body", []byte("b")), testkit.Int("retries", 2),
			testkit.Float("backoff", 0.01), testkit.Int("max_bytes", 1), testkit.Bool("follow_redirects", false),
			testkit.Bool("raise_for_status", false), testkit.Bool("verify", false)}},
		{"http_bad_url", "http", []kind.Value{testkit.Str("url", "ftp://%zz")}},
		{"http_bad_method", "http", []kind.Value{testkit.Str("url", "http://h/"), testkit.Str("method", "GET X")}},
		{"http_header_crlf", "http", []kind.Value{testkit.Str("url", "http://h/"), fuzzDict("headers", testkit.Str("A", "b\r\nC: d"))}},
		{"nested_deep", "echo", []kind.Value{nested}},
		{"map_of_lists", "http", []kind.Value{testkit.Str("url", "http://h/"), fuzzDict("headers", fuzzList("A", testkit.Str("", "x")))}},
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
	values := []kind.Value{
		testkit.Str("data", "a\x00b"), testkit.Bytes("odd name", make([]byte, 300)), testkit.Int("seconds", math.MinInt64),
		testkit.Float("backoff", -0.5), testkit.Bool("verify", true), testkit.None("path"),
		fuzzList("argv", testkit.Str("", "x"), fuzzList("", testkit.Int("", 1))), fuzzDict("env", testkit.Str("K", "V")),
		{Name: "data", Type: kind.ValueType(12), Int: -5},
	}
	got := fuzzValues(encodeValues(values), names)
	if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", normalize(values)) {
		t.Fatalf("round trip changed the values:\n got %#v\nwant %#v", got, normalize(values))
	}
}

// normalize gives values the shape the decoder produces (empty, not nil, payloads).
func normalize(values []kind.Value) []kind.Value {
	out := make([]kind.Value, len(values))
	for i, v := range values {
		if v.Type == kind.ValueStr || v.Type == kind.ValueBytes {
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

// lookup returns the registered kind named name.
func lookup(name string) *kind.Kind {
	k, _ := kind.Lookup(name)
	return k
}

// Package hash registers the hash kind: digests of bytes or files.
package hash

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"sort"
	"strings"

	"gogoroutines.dev/go/kind"
)

// algorithms are the digests the hash kind offers.
var algorithms = map[string]func() hash.Hash{
	"sha256": sha256.New,
	"sha1":   sha1.New,
	"sha512": sha512.New,
	"md5":    md5.New,
}

func init() {
	kind.Register(&kind.Kind{
		Name: "hash",
		Doc:  "Hashes bytes or a file (streamed, never loaded whole); the result is the hex digest.",
		Params: []kind.Param{
			{Name: "data", Type: kind.Data, Doc: "the bytes to hash (or give path)"},
			{Name: "path", Type: kind.String, Doc: "a file to hash (or give data)"},
			{Name: "algorithm", Type: kind.String, Default: "sha256", Doc: "sha256, sha1, sha512 or md5"},
		},
		Prepare: func(a *kind.Args) (kind.Work, error) {
			src := a.Source()
			name := a.Str("algorithm")
			newHash, ok := algorithms[name]
			if !ok && a.Err() == nil {
				names := make([]string, 0, len(algorithms))
				for n := range algorithms {
					names = append(names, n)
				}
				sort.Strings(names)
				a.Invalid("algorithm", "must be one of %s, got '%s'", strings.Join(names, ", "), name)
			}
			if err := a.Err(); err != nil {
				return nil, err
			}
			return func(ctx context.Context) (kind.Result, error) {
				h := newHash()
				if src.Path == "" {
					h.Write(src.Data) // in memory already: one pass, no chunks
				} else {
					r, err := src.Open()
					if err != nil {
						return kind.Result{}, err
					}
					defer r.Close()
					if _, err := kind.CopyContext(ctx, h, r); err != nil {
						return kind.Result{}, err
					}
				}
				return kind.Result{Data: []byte(hex.EncodeToString(h.Sum(nil)))}, nil
			}, nil
		},
	})
}

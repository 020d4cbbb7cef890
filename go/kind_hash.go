package main

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
)

// hashAlgorithms are the digests the hash kind offers.
var hashAlgorithms = map[string]func() hash.Hash{
	"sha256": sha256.New,
	"sha1":   sha1.New,
	"sha512": sha512.New,
	"md5":    md5.New,
}

func init() {
	register(&Kind{
		Name: "hash",
		Doc:  "Hashes bytes or a file (streamed, never loaded whole); the result is the hex digest.",
		Params: []Param{
			{Name: "data", Type: "str | bytes", Doc: "the bytes to hash (or give path)"},
			{Name: "path", Type: "str", Doc: "a file to hash (or give data)"},
			{Name: "algorithm", Type: "str", Default: "sha256", Doc: "sha256, sha1, sha512 or md5"},
		},
		Prepare: func(a *Args) (Work, error) {
			src, err := a.Source()
			if err != nil {
				return nil, err
			}
			name, err := a.Str("algorithm", "sha256")
			if err != nil {
				return nil, err
			}
			newHash, ok := hashAlgorithms[name]
			if !ok {
				names := make([]string, 0, len(hashAlgorithms))
				for n := range hashAlgorithms {
					names = append(names, n)
				}
				sort.Strings(names)
				return nil, a.errorf("algorithm", "must be one of %s, got '%s'", strings.Join(names, ", "), name)
			}
			return func(ctx context.Context) (Result, error) {
				h := newHash()
				if src.Path == "" {
					h.Write(src.Data) // in memory already: one pass, no chunks
				} else {
					r, err := src.open()
					if err != nil {
						return Result{}, err
					}
					defer r.Close()
					if _, err := copyCtx(ctx, h, r); err != nil {
						return Result{}, err
					}
				}
				return Result{Data: []byte(hex.EncodeToString(h.Sum(nil)))}, nil
			}, nil
		},
	})
}

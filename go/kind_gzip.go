package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"math"
)

func init() {
	register(&Kind{
		Name: "gzip",
		Doc:  "Compresses bytes or a file with gzip; the result is the compressed bytes.",
		Params: []Param{
			{Name: "data", Type: "str | bytes", Doc: "the bytes to compress (or give path)"},
			{Name: "path", Type: "str", Doc: "a file to compress (or give data)"},
			{Name: "level", Type: "int", Default: "-1", Doc: "0 (none) to 9 (best); -1 is zlib's default, 6"},
		},
		Prepare: func(a *Args) (Work, error) {
			src, err := a.Source()
			if err != nil {
				return nil, err
			}
			level, err := a.Int("level", gzip.DefaultCompression, gzip.DefaultCompression, gzip.BestCompression)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) (Result, error) {
				r, err := src.open()
				if err != nil {
					return Result{}, err
				}
				defer r.Close()
				var out bytes.Buffer
				if src.Path == "" {
					out.Grow(len(src.Data)/2 + 64)
				}
				zw, _ := gzip.NewWriterLevel(&out, int(level)) // level was validated
				if _, err := copyCtx(ctx, zw, r); err != nil {
					return Result{}, err
				}
				if err := zw.Close(); err != nil {
					return Result{}, err
				}
				return Result{Data: out.Bytes()}, nil
			}, nil
		},
	})

	register(&Kind{
		Name: "gunzip",
		Doc:  "Decompresses gzip bytes or a gzip file; the result is the decompressed bytes.",
		Params: []Param{
			{Name: "data", Type: "bytes", Doc: "the gzip bytes (or give path)"},
			{Name: "path", Type: "str", Doc: "a gzip file (or give data)"},
			{Name: "max_bytes", Type: "int", Default: "0", Doc: "fail if the output would be larger (0: no limit)"},
		},
		Prepare: func(a *Args) (Work, error) {
			src, err := a.Source()
			if err != nil {
				return nil, err
			}
			limit, err := a.Int("max_bytes", 0, 0, math.MaxInt64)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) (Result, error) {
				r, err := src.open()
				if err != nil {
					return Result{}, err
				}
				defer r.Close()
				zr, err := gzip.NewReader(r)
				if err != nil {
					return Result{}, err
				}
				out := &limitedBuffer{max: limit, what: "the decompressed data"}
				if src.Path == "" {
					out.Grow(2 * len(src.Data))
				}
				if _, err := copyCtx(ctx, out, zr); err != nil {
					return Result{}, err
				}
				return Result{Data: out.Bytes()}, zr.Close()
			}, nil
		},
	})
}

// Package gzip registers gzip and gunzip.
package gzip

import (
	"bytes"
	"compress/gzip"
	"context"
	"math"

	"gogoroutines.dev/go/kind"
)

func init() {
	kind.Register(&kind.Kind{
		Name: "gzip",
		Doc:  "Compresses bytes or a file with gzip; the result is the compressed bytes.",
		Params: []kind.Param{
			{Name: "data", Type: kind.Data, Doc: "the bytes to compress (or give path)"},
			{Name: "path", Type: kind.String, Doc: "a file to compress (or give data)"},
			{Name: "level", Type: kind.Int, Default: gzip.DefaultCompression, Doc: "0 (none) to 9 (best); -1 is zlib's default, 6"},
		},
		Prepare: func(a *kind.Args) (kind.Work, error) {
			src := a.Source()
			level := a.IntIn("level", gzip.DefaultCompression, gzip.BestCompression)
			if err := a.Err(); err != nil {
				return nil, err
			}
			return func(ctx context.Context) (kind.Result, error) {
				r, err := src.Open()
				if err != nil {
					return kind.Result{}, err
				}
				defer r.Close()
				var out bytes.Buffer
				if src.Path == "" {
					out.Grow(len(src.Data)/2 + 64)
				}
				zw, _ := gzip.NewWriterLevel(&out, int(level)) // level was validated
				if _, err := kind.CopyContext(ctx, zw, r); err != nil {
					return kind.Result{}, err
				}
				if err := zw.Close(); err != nil {
					return kind.Result{}, err
				}
				return kind.Result{Data: out.Bytes()}, nil
			}, nil
		},
	})

	kind.Register(&kind.Kind{
		Name: "gunzip",
		Doc:  "Decompresses gzip bytes or a gzip file; the result is the decompressed bytes.",
		Params: []kind.Param{
			{Name: "data", Type: kind.Data, Doc: "the gzip bytes (or give path)"},
			{Name: "path", Type: kind.String, Doc: "a gzip file (or give data)"},
			{Name: "max_bytes", Type: kind.Int, Default: 0, Doc: "fail if the output would be larger (0: no limit)"},
		},
		Prepare: func(a *kind.Args) (kind.Work, error) {
			src := a.Source()
			limit := a.IntIn("max_bytes", 0, math.MaxInt64)
			if err := a.Err(); err != nil {
				return nil, err
			}
			return func(ctx context.Context) (kind.Result, error) {
				r, err := src.Open()
				if err != nil {
					return kind.Result{}, err
				}
				defer r.Close()
				zr, err := gzip.NewReader(r)
				if err != nil {
					return kind.Result{}, err
				}
				out := kind.NewLimitedBuffer(limit, "the decompressed data")
				if src.Path == "" {
					out.Grow(2 * len(src.Data))
				}
				if _, err := kind.CopyContext(ctx, out, zr); err != nil {
					return kind.Result{}, err
				}
				return kind.Result{Data: out.Bytes()}, zr.Close()
			}, nil
		},
	})
}

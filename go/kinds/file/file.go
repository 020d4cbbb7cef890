// Package file registers read_file and write_file.
package file

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gogoroutines.dev/go/kind"
)

func init() {
	kind.Register(&kind.Kind{
		Name: "read_file",
		Doc:  "Reads a whole file; the result is its contents.",
		Params: []kind.Param{
			{Name: "path", Type: kind.String, Required: true, Doc: "the file to read"},
			{Name: "max_bytes", Type: kind.Int, Default: 0, Doc: "fail if the file is larger (0: no limit)"},
		},
		Prepare: func(a *kind.Args) (kind.Work, error) {
			path := a.Str("path")
			limit := a.IntIn("max_bytes", 0, math.MaxInt64)
			if err := a.Err(); err != nil {
				return nil, err
			}
			return func(ctx context.Context) (kind.Result, error) {
				return readFile(ctx, path, limit)
			}, nil
		},
	})

	kind.Register(&kind.Kind{
		Name: "write_file",
		Doc: "Writes data to a file atomically (a temporary file in the same directory, " +
			"synced, then renamed over the target); the result is the number of bytes written.",
		Params: []kind.Param{
			{Name: "path", Type: kind.String, Required: true, Doc: "the file to write"},
			{Name: "data", Type: kind.Data, Required: true, Doc: "the new contents"},
		},
		Prepare: func(a *kind.Args) (kind.Work, error) {
			path := a.Str("path")
			data := a.Data("data")
			if err := a.Err(); err != nil {
				return nil, err
			}
			return func(ctx context.Context) (kind.Result, error) {
				if err := writeFileAtomic(ctx, path, data); err != nil {
					return kind.Result{}, err
				}
				return kind.Result{Data: []byte(strconv.Itoa(len(data)))}, nil
			}, nil
		},
	})
}

// readFile reads path in chunks, checking ctx between them.
func readFile(ctx context.Context, path string, limit int64) (kind.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return kind.Result{}, err
	}
	defer f.Close()
	buf := kind.NewLimitedBuffer(limit, "file "+path)
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		if limit > 0 && info.Size() > limit {
			return kind.Result{}, fmt.Errorf("file %s has %d bytes, more than max_bytes (%d)", path, info.Size(), limit)
		}
		buf.Grow(int(info.Size()) + 1)
	}
	if _, err := kind.CopyContext(ctx, buf, f); err != nil {
		return kind.Result{}, err
	}
	return kind.Result{Data: buf.Bytes()}, nil
}

// writeFileAtomic replaces path with data so that readers see either the old
// or the new contents, never a part. An existing file keeps its permissions.
func writeFileAtomic(ctx context.Context, path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	mode := os.FileMode(0o644)
	if info, statErr := os.Stat(path); statErr == nil {
		mode = info.Mode().Perm()
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	for off := 0; off < len(data); {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(off+kind.BufferSize, len(data))
		if _, err := tmp.Write(data[off:end]); err != nil {
			return err
		}
		off = end
	}
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

package onnxio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/nnkit/nnkit/internal/safefile"
	"github.com/nnkit/nnkit/ir"
)

// safeLocation checks an external data location and returns the file it
// names. Absolute paths, ".." elements and anything that resolves outside
// baseDir (symlinks included) are refused: a model file must not be able to
// read arbitrary files (the path-traversal class of CVE-2022-25882).
func safeLocation(baseDir, loc string) (string, error) {
	if _, err := safeLocationSyntax(loc); err != nil {
		return "", err
	}
	base, err := filepath.EvalSymlinks(baseDir)
	if err != nil {
		return "", fmt.Errorf("model directory: %w", err)
	}
	base, err = filepath.Abs(base)
	if err != nil {
		return "", err
	}
	full := filepath.Join(base, filepath.FromSlash(loc))
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", fmt.Errorf("external data file %q: %w", loc, unwrapPathError(err))
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(base, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("external data location %q resolves to %s, outside the model's directory", loc, real)
	}
	return real, nil
}

// loadExternal reads the contents of tensors kept in side files.
func loadExternal(ts []*ir.Tensor, baseDir string) error {
	var errs ir.ErrorList
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, t := range ts {
		x := t.External
		path, err := safeLocation(baseDir, x.Location)
		if err != nil {
			errs.Add(fmt.Errorf("tensor %q: %w", t.Name, err))
			continue
		}
		f := files[path]
		if f == nil {
			f, _, err = safefile.Open(path)
			var nr *safefile.NotRegularError
			if errors.As(err, &nr) {
				errs.Add(fmt.Errorf("tensor %q: external data %q is %s, not a regular file", t.Name, x.Location, safefile.Describe(nr.Mode)))
				continue
			}
			if err != nil {
				errs.Add(fmt.Errorf("tensor %q: external data file %q: %w", t.Name, x.Location, unwrapPathError(err)))
				continue
			}
			files[path] = f
		}
		st, err := f.Stat()
		if err != nil {
			errs.Add(fmt.Errorf("tensor %q: external data %q: %w", t.Name, x.Location, err))
			continue
		}
		x.File = path
		n, err := ir.NumElements(t.Dims)
		if err != nil {
			errs.Add(fmt.Errorf("tensor %q: %w", t.Name, err))
			continue
		}
		want, ok := t.DType.RawSize(n)
		if !ok || t.DType == ir.String {
			errs.Add(fmt.Errorf("tensor %q: %s cannot be stored as external data of shape %v", t.Name, t.DType, t.Dims))
			continue
		}
		length := x.Length
		if length < 0 {
			length = want
		}
		if length != want {
			errs.Add(fmt.Errorf("tensor %q: external data length %d does not match shape %v of %s (%d bytes)", t.Name, length, t.Dims, t.DType, want))
			continue
		}
		if x.Offset > st.Size() || length > st.Size()-x.Offset {
			errs.Add(fmt.Errorf("tensor %q: external data %q holds %d bytes, too few for offset %d + length %d", t.Name, x.Location, st.Size(), x.Offset, length))
			continue
		}
		buf := make([]byte, length)
		if _, err := f.ReadAt(buf, x.Offset); err != nil && !(err == io.EOF && length == 0) {
			errs.Add(fmt.Errorf("tensor %q: reading external data %q: %w", t.Name, x.Location, err))
			continue
		}
		t.Raw = buf
	}
	return errs.Err()
}

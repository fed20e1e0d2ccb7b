package onnxio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/nnkit/nnkit/internal/safefile"
	"github.com/nnkit/nnkit/ir"
	pb "github.com/nnkit/nnkit/onnxio/internal/onnxpb"
)

// ExternalMode says which initializers a writer stores in side files.
type ExternalMode int

const (
	// ExternalAuto keeps tensors external that were external when read,
	// in one side file named after the output (never the file they were
	// read from: see WriteFile), and inlines the rest; if the model would
	// exceed the 2 GiB protobuf limit, the largest tensors move to the side
	// file too.
	ExternalAuto ExternalMode = iota
	// ExternalNever inlines every tensor.
	ExternalNever
	// ExternalAll stores every initializer of at least Threshold bytes in
	// the side file named by Location.
	ExternalAll
)

// WriteOptions adjust writing. The zero value is ready to use.
type WriteOptions struct {
	External ExternalMode
	// Location is the side file for tensors the writer moves out (default:
	// the model file's name plus ".data"), relative to the model's
	// directory.
	Location string
	// Threshold is the smallest tensor, in bytes, that ExternalAll moves
	// out (default 1024).
	Threshold int
}

// pageSize aligns offsets in external data files, as the ONNX spec
// recommends (so that a reader can mmap tensors).
const pageSize = 4096

// Encode serializes a model with every tensor inline.
func Encode(m *ir.Model) ([]byte, error) {
	mp, err := (&encoder{}).model(m)
	if err != nil {
		return nil, err
	}
	return marshal(mp)
}

// Write serializes a model with every tensor inline to w.
func Write(w io.Writer, m *ir.Model) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func marshal(mp *pb.ModelProto) ([]byte, error) {
	if sz := proto.Size(mp); int64(sz) > MaxModelBytes {
		return nil, fmt.Errorf("the encoded model would be %d bytes, more than the 2 GiB protobuf limit; write it with external data", sz)
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(mp)
}

// WriteFile writes m to path. The model and its side files are written to
// temporary files in the same directory and renamed into place only when
// everything succeeded.
//
// A side file is never one the model was read from, nor one the model
// file being replaced refers to: ExternalAuto names it after the output
// (<out>.data, or <out>.1.data, <out>.2.data … when that name is taken by
// such a file), so fine-tuning model.onnx never changes the bytes
// model.onnx reads, and a crash between the renames leaves the old output
// loadable. A path naming a character device, FIFO or socket is written
// directly (every tensor inline); a symbolic link to a regular file is
// kept and the file it names is replaced.
func WriteFile(path string, m *ir.Model, o *WriteOptions) error {
	if o == nil {
		o = &WriteOptions{}
	}
	if m.Graph == nil {
		return fmt.Errorf("%s: the model has no graph", path)
	}
	target, err := safefile.Resolve(path)
	if err != nil {
		return err
	}
	path = target.Path
	dir := filepath.Dir(path)
	defLoc := o.Location
	if defLoc == "" {
		defLoc = filepath.Base(path) + ".data"
	}
	threshold := o.Threshold
	if threshold <= 0 {
		threshold = 1024
	}
	if _, err := safeLocationSyntax(defLoc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}

	// Decide which initializers go to the side file.
	external := map[*ir.Tensor]bool{}
	total := int64(0)
	for _, v := range allInitializers(m.Graph) {
		total += int64(len(v.Init.Raw))
	}
	mode := o.External
	if target.Direct {
		if mode == ExternalAll || total > MaxModelBytes/2 {
			return fmt.Errorf("%s: is a device or pipe; a model with external data must be written to a file", path)
		}
		mode = ExternalNever
	}
	switch mode {
	case ExternalAuto:
		for _, v := range allInitializers(m.Graph) {
			if v.Init.External != nil || total > MaxModelBytes/2 && len(v.Init.Raw) >= threshold {
				external[v.Init] = true
			}
		}
	case ExternalAll:
		for _, v := range allInitializers(m.Graph) {
			if v.Init.DType != ir.String && len(v.Init.Raw) >= threshold {
				external[v.Init] = true
			}
		}
	}
	loc := defLoc
	if len(external) > 0 {
		if loc, err = sideFileName(path, defLoc, o.Location != "", m); err != nil {
			return err
		}
	}
	var side bytes.Buffer
	enc := &encoder{}
	if len(external) > 0 {
		enc.ext = func(t *ir.Tensor) ([]*pb.StringStringEntryProto, bool, error) {
			if !external[t] {
				return nil, false, nil
			}
			if pad := side.Len() % pageSize; pad != 0 {
				side.Write(make([]byte, pageSize-pad))
			}
			x := &ir.ExternalData{Location: loc, Offset: int64(side.Len()), Length: int64(len(t.Raw))}
			side.Write(t.Raw)
			return externalPairs(x), true, nil
		}
	}
	mp, err := enc.model(m)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	b, err := marshal(mp)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// Write everything to temporaries, then rename: the side file first,
	// so that the model never refers to data not yet in place.
	var tx safefile.Tx
	if len(external) > 0 {
		final := filepath.Join(dir, filepath.FromSlash(loc))
		if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := tx.Add(final, side.Bytes()); err != nil {
			return fmt.Errorf("%s: external data %q: %w", path, loc, err)
		}
	}
	if err := tx.Add(path, b); err != nil {
		return err
	}
	return tx.Commit()
}

// sideFileName chooses the external data file for a model written to
// path: def (<out>.data), unless a file of that name is one the model's
// tensors were read from or one the model now at path refers to; then
// <out>.1.data, <out>.2.data, … An explicit location in that case is an
// error.
func sideFileName(path, def string, explicit bool, m *ir.Model) (string, error) {
	dir := filepath.Dir(path)
	var protected []os.FileInfo
	for _, v := range allInitializers(m.Graph) {
		if x := v.Init.External; x != nil && x.File != "" {
			if st, err := os.Stat(x.File); err == nil {
				protected = append(protected, st)
			}
		}
	}
	refs, known := referencedFiles(path)
	protected = append(protected, refs...)
	taken := func(loc string) bool {
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(loc)))
		if err != nil {
			return false
		}
		if !known {
			return true // the model at path could not be inspected: keep every existing file
		}
		for _, p := range protected {
			if os.SameFile(st, p) {
				return true
			}
		}
		return false
	}
	if !taken(def) {
		return def, nil
	}
	if explicit {
		return "", fmt.Errorf("%s: external data location %q names a file the model was read from or %s refers to; choose another", path, def, filepath.Base(path))
	}
	stem := strings.TrimSuffix(def, ".data")
	for i := 1; ; i++ {
		if loc := fmt.Sprintf("%s.%d.data", stem, i); !taken(loc) {
			return loc, nil
		}
	}
}

// maxInspect is the largest existing model WriteFile parses to learn which
// side files it refers to (models with external data are small).
const maxInspect = 64 << 20

// referencedFiles lists the external data files the model now at path
// refers to. known is false when there is a file that could not be
// inspected (too large, compressed, not a model).
func referencedFiles(path string) (files []os.FileInfo, known bool) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, true // nothing there yet
	}
	if !st.Mode().IsRegular() || st.Size() > maxInspect {
		return nil, false
	}
	b, err := safefile.ReadFile(path, maxInspect)
	if err != nil {
		return nil, false
	}
	mp := &pb.ModelProto{}
	if err := proto.Unmarshal(b, mp); err != nil {
		return nil, false
	}
	var walk func(g *pb.GraphProto)
	walk = func(g *pb.GraphProto) {
		for _, t := range g.GetInitializer() {
			for _, kv := range t.GetExternalData() {
				if kv.GetKey() != "location" {
					continue
				}
				if _, err := safeLocationSyntax(kv.GetValue()); err != nil {
					continue
				}
				if st, err := os.Stat(filepath.Join(filepath.Dir(path), filepath.FromSlash(kv.GetValue()))); err == nil {
					files = append(files, st)
				}
			}
		}
		for _, n := range g.GetNode() {
			for _, a := range n.GetAttribute() {
				if a.GetG() != nil {
					walk(a.GetG())
				}
				for _, sg := range a.GetGraphs() {
					walk(sg)
				}
			}
		}
	}
	walk(mp.GetGraph())
	return files, true
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so that readers never see a partial file. A
// device, FIFO or socket (/dev/null, /dev/stdout) is written directly,
// never replaced; stale temporaries of path from a killed process are
// removed.
func WriteFileAtomic(path string, data []byte) error {
	return safefile.WriteAtomic(path, data)
}

// safeLocationSyntax applies the location rules that do not need the file
// system (used when writing).
func safeLocationSyntax(loc string) (string, error) {
	if loc == "" {
		return "", errors.New("external data location is empty")
	}
	if filepath.IsAbs(loc) || loc[0] == '/' || loc[0] == '\\' || filepath.VolumeName(loc) != "" || (len(loc) > 1 && loc[1] == ':') {
		return "", fmt.Errorf("external data location %q is an absolute path; it must be relative to the model's directory", loc)
	}
	for _, part := range splitPath(loc) {
		if part == ".." {
			return "", fmt.Errorf("external data location %q contains \"..\"; it must stay inside the model's directory", loc)
		}
	}
	if strings.ContainsRune(loc, 0) {
		return "", fmt.Errorf("external data location %q contains a NUL byte", loc)
	}
	return loc, nil
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' || p[i] == '\\' {
			if i > start {
				out = append(out, p[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// allInitializers lists the initializers of g and its subgraphs.
func allInitializers(g *ir.Graph) []*ir.Value {
	out := append([]*ir.Value(nil), g.Initializers...)
	for _, n := range g.Nodes {
		for _, sg := range n.Subgraphs() {
			out = append(out, allInitializers(sg)...)
		}
	}
	return out
}

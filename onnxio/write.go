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

	"github.com/nnkit/nnkit/ir"
	pb "github.com/nnkit/nnkit/onnxio/internal/onnxpb"
)

// ExternalMode says which initializers a writer stores in side files.
type ExternalMode int

const (
	// ExternalAuto keeps tensors external that were external when read,
	// each in the side file it came from, and inlines the rest; if the
	// model would still exceed the 2 GiB protobuf limit, the largest
	// tensors move to a side file too.
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
	if sz := proto.Size(mp); sz > MaxModelBytes {
		return nil, fmt.Errorf("the encoded model would be %d bytes, more than the 2 GiB protobuf limit; write it with external data", sz)
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(mp)
}

// sideFile accumulates the tensors written to one external data file.
type sideFile struct {
	loc  string
	data bytes.Buffer
}

// WriteFile writes m to path. The model and its side files are written to
// temporary files in the same directory and renamed into place only when
// everything succeeded.
func WriteFile(path string, m *ir.Model, o *WriteOptions) error {
	if o == nil {
		o = &WriteOptions{}
	}
	if m.Graph == nil {
		return fmt.Errorf("%s: the model has no graph", path)
	}
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
		return fmt.Errorf("%s: %v", path, err)
	}

	// Decide where each initializer goes.
	place := map[*ir.Tensor]string{}
	total := int64(0)
	for _, v := range allInitializers(m.Graph) {
		total += int64(len(v.Init.Raw))
	}
	switch o.External {
	case ExternalAuto:
		for _, v := range allInitializers(m.Graph) {
			if v.Init.External != nil {
				place[v.Init] = v.Init.External.Location
			}
		}
		if total > MaxModelBytes/2 {
			for _, v := range allInitializers(m.Graph) {
				if _, ok := place[v.Init]; !ok && len(v.Init.Raw) >= threshold {
					place[v.Init] = defLoc
				}
			}
		}
	case ExternalAll:
		for _, v := range allInitializers(m.Graph) {
			if v.Init.DType != ir.String && len(v.Init.Raw) >= threshold {
				place[v.Init] = defLoc
			}
		}
	}
	files := map[string]*sideFile{}
	var order []*sideFile
	enc := &encoder{}
	if len(place) > 0 {
		enc.ext = func(t *ir.Tensor) ([]*pb.StringStringEntryProto, bool, error) {
			loc, ok := place[t]
			if !ok {
				return nil, false, nil
			}
			if _, err := safeLocationSyntax(loc); err != nil {
				return nil, false, fmt.Errorf("tensor %q: %v", t.Name, err)
			}
			sf := files[loc]
			if sf == nil {
				sf = &sideFile{loc: loc}
				files[loc] = sf
				order = append(order, sf)
			}
			if pad := sf.data.Len() % pageSize; pad != 0 {
				sf.data.Write(make([]byte, pageSize-pad))
			}
			x := &ir.ExternalData{Location: loc, Offset: int64(sf.data.Len()), Length: int64(len(t.Raw))}
			sf.data.Write(t.Raw)
			return externalPairs(x), true, nil
		}
	}
	mp, err := enc.model(m)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	b, err := marshal(mp)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	// Write everything to temporaries, then rename.
	type pending struct{ tmp, final string }
	var done []pending
	cleanup := func() {
		for _, p := range done {
			os.Remove(p.tmp)
		}
	}
	for _, sf := range order {
		final := filepath.Join(dir, filepath.FromSlash(sf.loc))
		if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
			cleanup()
			return fmt.Errorf("%s: %v", path, err)
		}
		tmp, err := writeTemp(final, sf.data.Bytes())
		if err != nil {
			cleanup()
			return fmt.Errorf("%s: external data %q: %v", path, sf.loc, err)
		}
		done = append(done, pending{tmp, final})
	}
	tmp, err := writeTemp(path, b)
	if err != nil {
		cleanup()
		return fmt.Errorf("%s: %v", path, err)
	}
	done = append(done, pending{tmp, path})
	for _, p := range done {
		if err := os.Rename(p.tmp, p.final); err != nil {
			cleanup()
			return fmt.Errorf("%s: %v", path, err)
		}
	}
	return nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so that readers never see a partial file.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func writeTemp(final string, data []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+".tmp*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(name, 0o644)
	}
	if err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
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

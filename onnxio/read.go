package onnxio

import (
	"bytes"
	"compress/gzip"
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

// MaxModelBytes is the largest encoded model accepted: protobuf's own limit,
// 2 GiB less one byte (a message's size must fit a signed 32-bit int; bigger
// models keep their tensors in external data files). It is an int64 and
// fits an int on every platform, so a model this size can be held in one
// []byte on 32-bit systems too.
const MaxModelBytes int64 = 1<<31 - 1

// Error is a failure to read a model: the file and every problem found.
type Error struct {
	File string
	Errs ir.ErrorList
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, err := range e.Errs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		b.WriteString(": ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap exposes the individual problems.
func (e *Error) Unwrap() []error { return e.Errs }

// ReadOptions adjust reading. The zero value is ready to use.
type ReadOptions struct {
	// Name is how errors refer to the model (defaults to the path, or
	// "<model>" for bytes and readers).
	Name string
	// BaseDir is the directory external data locations are relative to.
	// ReadFile uses the model's directory; for Decode and Read, a model
	// with external data and no BaseDir is an error.
	BaseDir string
	// OnGraph, when set, is called with the number of nodes of the
	// top-level graph once they are counted and before the graph is
	// built, so that a caller can prepare for a very large graph (nnlint
	// tightens the garbage collector). Files the reader hands to protobuf
	// whole (a repeated graph field, for instance) are not counted; a
	// reader that starts over on the whole file may call it twice.
	OnGraph func(nodes int)
}

// ReadFile reads and validates a model file.
func ReadFile(path string) (*ir.Model, error) {
	return ReadFileWith(path, ReadOptions{})
}

// ReadFileWith reads a model file with options.
func ReadFileWith(path string, o ReadOptions) (*ir.Model, error) {
	if o.Name == "" {
		o.Name = path
	}
	if o.BaseDir == "" {
		o.BaseDir = filepath.Dir(path)
	}
	// safefile.Open refuses FIFOs, devices and sockets without blocking
	// (os.Open of a FIFO waits for a writer forever).
	f, st, err := safefile.Open(path)
	if err != nil {
		var nr *safefile.NotRegularError
		if errors.As(err, &nr) {
			err = fmt.Errorf("is %s, not a model file", safefile.Describe(nr.Mode))
		}
		return nil, &Error{File: o.Name, Errs: ir.ErrorList{unwrapPathError(err)}}
	}
	defer f.Close()
	if st.Size() > MaxModelBytes {
		return nil, &Error{File: o.Name, Errs: ir.ErrorList{fmt.Errorf("file is %d bytes, more than the 2 GiB protobuf limit", st.Size())}}
	}
	if m, err := readStreaming(f, st, &o); err != errNotWire {
		return m, err
	}
	buf := make([]byte, st.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, &Error{File: o.Name, Errs: ir.ErrorList{fmt.Errorf("reading: %w", err)}}
	}
	return Decode(buf, &o)
}

// readStreaming reads a model file without holding it whole (stream.go).
// It returns errNotWire when the file must be read whole and decoded
// instead: it is gzip-compressed or tiny, the wire decoder cannot handle
// it, or it changed while being read. The file's offset is left at 0.
func readStreaming(f *os.File, st os.FileInfo, o *ReadOptions) (*ir.Model, error) {
	var magic [2]byte
	if st.Size() < 2 {
		return nil, errNotWire
	}
	if _, err := f.ReadAt(magic[:], 0); err != nil || magic[0] == 0x1f && magic[1] == 0x8b {
		return nil, errNotWire
	}
	w, ok := scanFile(f, st.Size())
	if !ok {
		return nil, errNotWire
	}
	if o.OnGraph != nil {
		o.OnGraph(w.nodes)
	}
	d, m, err := convertWire(w)
	if err != nil {
		return nil, err
	}
	if now, err := f.Stat(); err != nil || now.Size() != st.Size() || !now.ModTime().Equal(st.ModTime()) {
		return nil, errNotWire
	}
	return d.finish(m, o.Name, o.BaseDir)
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Read reads a model from r.
func Read(r io.Reader, o *ReadOptions) (*ir.Model, error) {
	name := optName(o)
	buf, err := io.ReadAll(io.LimitReader(r, MaxModelBytes+1))
	if err != nil {
		return nil, &Error{File: name, Errs: ir.ErrorList{fmt.Errorf("reading: %w", err)}}
	}
	if int64(len(buf)) > MaxModelBytes {
		return nil, &Error{File: name, Errs: ir.ErrorList{errors.New("model is larger than the 2 GiB protobuf limit")}}
	}
	return Decode(buf, o)
}

func optName(o *ReadOptions) string {
	if o != nil && o.Name != "" {
		return o.Name
	}
	return "<model>"
}

// Decode parses an encoded model (plain or gzip-compressed) and validates
// it. Large initializer contents alias b, which must not be modified
// afterwards.
func Decode(b []byte, o *ReadOptions) (*ir.Model, error) {
	if o == nil {
		o = &ReadOptions{}
	}
	name := optName(o)
	fail := func(err error) (*ir.Model, error) {
		var l ir.ErrorList
		l.Add(err)
		return nil, &Error{File: name, Errs: l}
	}
	if len(b) == 0 {
		return fail(errors.New("file is empty"))
	}
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		// A protobuf ModelProto cannot start with these bytes (field 3 of
		// wire type 7 does not exist), so this is gzip.
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return fail(fmt.Errorf("gzip: %w", err))
		}
		plain, err := io.ReadAll(io.LimitReader(zr, MaxModelBytes+1))
		if err != nil {
			return fail(fmt.Errorf("gzip: %w (truncated file?)", err))
		}
		if int64(len(plain)) > MaxModelBytes {
			return fail(errors.New("decompressed model is larger than the 2 GiB protobuf limit"))
		}
		b = plain
	}
	if w, ok := splitModel(b); ok {
		if o.OnGraph != nil {
			o.OnGraph(w.nodes)
		}
		if d, m, err := convertWire(w); err != errNotWire {
			// Validation (graph order, schemas) runs without the file in
			// memory: only tensor contents that alias it keep it.
			b, w = nil, wireModel{}
			return d.finish(m, name, o.BaseDir)
		}
	}
	return decodeProto(b, name, o.BaseDir)
}

// decodeProto decodes a model with protobuf's generated code alone: the
// path for what the wire decoder does not handle, and the reference it is
// tested against.
func decodeProto(b []byte, name, baseDir string) (*ir.Model, error) {
	mp := &pb.ModelProto{}
	if err := proto.Unmarshal(b, mp); err != nil {
		err = fmt.Errorf("not a valid ONNX model (protobuf decoding failed: %v); is the file truncated or not an .onnx file?", cleanProtoErr(err))
		return nil, &Error{File: name, Errs: ir.ErrorList{err}}
	}
	d := &decoder{}
	return d.finish(d.model(mp), name, baseDir)
}

func cleanProtoErr(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "proto: ")
	return s
}

// finish loads external data and validates the converted model.
func (d *decoder) finish(m *ir.Model, name, baseDir string) (*ir.Model, error) {
	if m.Graph != nil {
		if len(d.external) > 0 {
			if baseDir == "" {
				d.errs.Add(errors.New("the model keeps tensors in external data files but was not read from a file; use ReadFile or set ReadOptions.BaseDir"))
			} else {
				d.errs.Add(loadExternal(d.external, baseDir))
			}
		}
	}
	if m.Graph != nil {
		// Tensors the decoder already reported would be reported again by
		// validation ("needs N bytes but holds 0"): keep the first word.
		reported := map[string]bool{}
		for _, e := range d.errs {
			if name, ok := tensorOf(e.Error()); ok {
				reported[name] = true
			}
		}
		var more ir.ErrorList
		more.Add(checkModel(m))
		for _, e := range more {
			if name, ok := tensorOf(e.Error()); ok && reported[name] {
				continue
			}
			d.errs.Add(e)
		}
	}
	if len(d.errs) > 0 {
		return nil, &Error{File: name, Errs: d.errs}
	}
	return m, nil
}

// tensorOf extracts X from an error starting `tensor "X":`.
func tensorOf(msg string) (string, bool) {
	const p = `tensor "`
	if !strings.HasPrefix(msg, p) {
		return "", false
	}
	end := strings.Index(msg[len(p):], `":`)
	if end < 0 {
		return "", false
	}
	return msg[len(p) : len(p)+end], true
}

// checkModel validates what every consumer of the IR relies on.
func checkModel(m *ir.Model) error {
	var errs ir.ErrorList
	if m.IRVersion <= 0 {
		errs.Add(errors.New("ir_version is missing"))
	}
	if m.Opset("") == 0 {
		errs.Add(errors.New("the model imports no version of the default ONNX opset (opset_import)"))
	}
	errs.Add(m.Graph.Validate())
	errs.Add(m.CheckSchemas())
	return errs.Err()
}

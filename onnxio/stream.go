package onnxio

import (
	"errors"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// Reading a model file without holding it (issue 9). The wire decoder
// (wire.go) needs the top-level graph's nodes and initializers one at a
// time, in its own order (initializers first, nodes after), while
// PyTorch writes the nodes first. So ReadFile scans the file once, copying
// the model's and the graph's small fields and noting where the runs of
// node fields and of initializer fields lie, then reads the initializers
// and the nodes again from those places. Besides the IR, only the
// initializers' bytes (which the tensors alias) and one node's (a reused
// buffer) are in memory: a 200k-node chain no longer holds its 20 MB file
// while its graph is built, and a model's tensors no longer keep the
// bytes of its nodes alive. Anything
// the scan does not handle (a group-typed field, a malformed length, a
// repeated graph field) makes ReadFile read the whole file and decode it
// as Decode does, which also words the error.

// fieldRun is a byte range of the file holding only consecutive fields
// num of the top-level graph, each length-delimited.
type fieldRun struct {
	num      protowire.Number
	off, end int64
}

// fileGraph supplies the top-level graph's node and initializer fields
// from the file.
type fileGraph struct {
	r    io.ReaderAt
	runs []fieldRun
}

// each calls f with the contents of every field num, in file order,
// stopping when f returns false. A node's bytes are valid only during the
// call; an initializer's may be kept: each run of initializers is read
// whole into its own buffer (one allocation and one read for all of a
// model's tensors, as when the file was read whole: thousands of tensor
// buffers cost the collector more), which the tensors alias. It returns
// false when f does, or when the file cannot be read as the scan found it
// (then the caller falls back to reading the whole file).
func (fg *fileGraph) each(num protowire.Number, f func([]byte) bool) bool {
	var buf []byte
	for _, run := range fg.runs {
		if run.num != num {
			continue
		}
		if num == graphInitializerField {
			b := make([]byte, run.end-run.off)
			if got, _ := fg.r.ReadAt(b, run.off); got < len(b) || !eachField(b, num, f) {
				return false
			}
			continue
		}
		s := &fileScanner{r: fg.r, off: run.off, end: run.end}
		for s.off < s.end {
			fnum, typ, ok := s.tag()
			if !ok || fnum != num || typ != protowire.BytesType {
				return false
			}
			n, ok := s.length()
			if !ok {
				return false
			}
			if cap(buf) < n {
				buf = make([]byte, n)
			}
			v := buf[:n]
			if !s.read(v) || !f(v) {
				return false
			}
		}
	}
	return true
}

// fileScanner reads protobuf fields from r between off and end through a
// small buffer, skipping large values without reading them.
type fileScanner struct {
	r        io.ReaderAt
	off, end int64  // next byte to consume, end of the range
	buf      []byte // bytes of the file from bufOff
	bufOff   int64
}

// scanBuffer is the read-ahead of a fileScanner reading on from where its
// buffer ends: large enough that a graph of small nodes is read in few
// system calls. After a jump (past a tensor it skips) it reads only
// jumpBuffer: a model's initializers would otherwise cost a full
// read-ahead each, more than the file.
const (
	scanBuffer = 64 << 10
	jumpBuffer = 4 << 10
)

// fill makes at least n bytes from s.off available in s.buf (fewer at the
// end of the range); it reports whether there are n.
func (s *fileScanner) fill(n int) bool {
	if s.off >= s.bufOff && s.off+int64(n) <= s.bufOff+int64(len(s.buf)) {
		return true
	}
	ahead := scanBuffer
	if s.off != s.bufOff+int64(len(s.buf)) {
		ahead = jumpBuffer
	}
	want := min(int64(max(n, ahead)), s.end-s.off)
	if want < int64(n) {
		return false
	}
	if cap(s.buf) < int(want) {
		s.buf = make([]byte, want)
	}
	s.buf = s.buf[:want]
	got, err := s.r.ReadAt(s.buf, s.off)
	if int64(got) < want && err == nil {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && !(errors.Is(err, io.EOF) && int64(got) == want) {
		s.buf = s.buf[:0]
		return false
	}
	s.bufOff = s.off
	return true
}

// window returns the buffered bytes from s.off (at least n of them).
func (s *fileScanner) window(n int) ([]byte, bool) {
	if !s.fill(n) {
		return nil, false
	}
	return s.buf[s.off-s.bufOff:], true
}

// varint reads a varint (at most 10 bytes).
func (s *fileScanner) varint() (uint64, bool) {
	w, ok := s.window(min(10, int(s.end-s.off)))
	if !ok || len(w) == 0 {
		return 0, false
	}
	v, n := protowire.ConsumeVarint(w[:min(len(w), 10)])
	if n < 0 {
		return 0, false
	}
	s.off += int64(n)
	return v, true
}

func (s *fileScanner) tag() (protowire.Number, protowire.Type, bool) {
	v, ok := s.varint()
	if !ok {
		return 0, 0, false
	}
	num, typ := protowire.DecodeTag(v)
	if num < protowire.MinValidNumber || num > protowire.MaxValidNumber {
		return 0, 0, false
	}
	return num, typ, true
}

// length reads a length prefix that fits in the rest of the range.
func (s *fileScanner) length() (int, bool) {
	v, ok := s.varint()
	if !ok || v > uint64(s.end-s.off) {
		return 0, false
	}
	return int(v), true
}

// read fills p from the range.
func (s *fileScanner) read(p []byte) bool {
	if int64(len(p)) > s.end-s.off {
		return false
	}
	if len(p) <= scanBuffer {
		w, ok := s.window(len(p))
		if !ok {
			return false
		}
		copy(p, w)
	} else if got, _ := s.r.ReadAt(p, s.off); got < len(p) {
		return false
	}
	s.off += int64(len(p))
	return true
}

// next skips one field of a message, returning its number, type and
// start, and the range of a length-delimited value.
func (s *fileScanner) next() (num protowire.Number, typ protowire.Type, start, vOff, vEnd int64, ok bool) {
	start = s.off
	num, typ, ok = s.tag()
	if !ok {
		return 0, 0, 0, 0, 0, false
	}
	switch typ {
	case protowire.VarintType:
		_, ok = s.varint()
	case protowire.Fixed32Type:
		ok = s.skip(4)
	case protowire.Fixed64Type:
		ok = s.skip(8)
	case protowire.BytesType:
		var n int
		if n, ok = s.length(); ok {
			vOff, vEnd = s.off, s.off+int64(n)
			ok = s.skip(int64(n))
		}
	default:
		ok = false // groups: left to the whole-file decoders
	}
	return num, typ, start, vOff, vEnd, ok
}

// appendRange appends the bytes from start to s.off (a field just
// skipped) to dst.
func (s *fileScanner) appendRange(dst []byte, start int64) ([]byte, bool) {
	end := s.off
	old := len(dst)
	dst = append(dst, make([]byte, end-start)...)
	s.off = start
	ok := s.read(dst[old:])
	s.off = end
	return dst, ok
}

func (s *fileScanner) skip(n int64) bool {
	if n > s.end-s.off {
		return false
	}
	s.off += n
	return true
}

// scanFile splits an encoded model of size bytes read from r as
// splitModel does, without reading it whole: the node and initializer
// fields of the graph stay in the file (w.file). ok is false when the
// wire decoder cannot handle the file this way.
func scanFile(r io.ReaderAt, size int64) (w wireModel, ok bool) {
	s := &fileScanner{r: r, end: size}
	var graphOff, graphEnd int64
	for s.off < s.end {
		num, typ, start, vOff, vEnd, ok := s.next()
		if !ok {
			return w, false
		}
		if num == modelGraphField && typ == protowire.BytesType {
			if w.file != nil {
				return w, false // merged graph messages: leave to protobuf
			}
			w.file = &fileGraph{r: r}
			graphOff, graphEnd = vOff, vEnd
			continue
		}
		if w.model, ok = s.appendRange(w.model, start); !ok {
			return w, false
		}
	}
	if w.file == nil {
		return w, true
	}
	g := &fileScanner{r: r, off: graphOff, end: graphEnd, buf: s.buf[:0]}
	for g.off < g.end {
		num, typ, start, _, _, ok := g.next()
		if !ok {
			return w, false
		}
		if typ == protowire.BytesType && (num == graphNodeField || num == graphInitializerField) {
			// Nodes and initializers are read again when converted.
			if num == graphNodeField {
				w.nodes++
			} else {
				w.values++
			}
			runs := w.file.runs
			if k := len(runs) - 1; k >= 0 && runs[k].num == num && runs[k].end == start {
				runs[k].end = g.off
			} else {
				w.file.runs = append(runs, fieldRun{num, start, g.off})
			}
			continue
		}
		if typ == protowire.BytesType && num == graphInputField {
			w.values++
		}
		if w.graph, ok = g.appendRange(w.graph, start); !ok {
			return w, false
		}
	}
	return w, true
}

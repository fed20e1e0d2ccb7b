package tensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/nnkit/nnkit/internal/safefile"
	"github.com/nnkit/nnkit/ir"
)

// Limits on what an .npy header may ask for. They are checked before any
// allocation, so a hostile header costs nothing.
const (
	// MaxNpyHeader is the largest .npy header accepted, in bytes: NumPy's
	// own limit for np.load (numpy/lib/format.py _MAX_HEADER_SIZE, 10000,
	// since NumPy 1.24).
	MaxNpyHeader = 10000
	// MaxArrayElements is the largest array read (2^28 elements, 1 GiB
	// as float32); bigger data sets can be split or given as image folders.
	MaxArrayElements = 1 << 28
	// MaxArrayBytes bounds one array once decoded (float32 or int64
	// values): 2^28 float features, or 2^27 integer labels.
	MaxArrayBytes = 1 << 30
	// maxDeflateRatio is the most a deflate stream can expand (zlib's
	// technical details: 1032:1), so a member cannot hold more data than
	// 1032 times its compressed size.
	maxDeflateRatio = 1032
	// maxRank bounds the number of dimensions (NumPy's NPY_MAXDIMS is 64
	// since NumPy 2.0, 32 before).
	maxRank = 64
)

// npyHeader is a parsed .npy header.
type npyHeader struct {
	descr   string // "<f4"
	order   binary.ByteOrder
	kind    byte // 'f', 'i', 'u' or 'b'
	size    int  // bytes per element
	fortran bool
	shape   []int
	n       int   // elements
	hdrLen  int64 // bytes before the data
}

// dataBytes is the length of the array's data.
func (h *npyHeader) dataBytes() int64 { return int64(h.n) * int64(h.size) }

// readNpyHeader reads and validates an .npy header (NumPy's format
// specification, versions 1.0, 2.0 and 3.0). It never reads past the
// header and never allocates more than MaxNpyHeader bytes.
//
// nnkit parses the header itself rather than with npyio (v0.14.0): its
// npy.Reader allocates the v2 header length it reads (up to 4 GiB) before
// reading it, slices the header at bytes.LastIndexByte(hdr, '\n') without
// checking for -1, and cuts the dict between the positions of its keys
// assuming the order descr, fortran_order, shape — a header without a
// newline or with its keys in another order panics with "slice bounds out of
// range". Reported upstream-style:
//
//	npy: Reader.readHeader trusts the header: (1) `hdr := make([]byte, hdrLen)`
//	with hdrLen from the file (v2: uint32) allocates up to 4 GiB for a 12-byte
//	file — cap it (NumPy caps at 10000 bytes); (2) `hdr[:idx]` panics when the
//	header has no '\n' (idx == -1); (3) readDescr slices between key offsets
//	and panics when the keys are not in descr/fortran_order/shape order or
//	'}' comes before 'shape'. Expected: an error for each.
func readNpyHeader(r io.Reader) (*npyHeader, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return nil, errors.New("not an .npy file: shorter than the magic string")
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return nil, errors.New("not an .npy file (no \\x93NUMPY magic string)")
	}
	major, minor := pre[6], pre[7]
	var hlen int64
	switch major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, errors.New("truncated .npy header")
		}
		hlen = int64(binary.LittleEndian.Uint16(pre[8:10]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, errors.New("truncated .npy header")
		}
		hlen = int64(binary.LittleEndian.Uint32(b[:]))
	default:
		return nil, fmt.Errorf(".npy format version %d.%d is not supported (want 1.0, 2.0 or 3.0)", major, minor)
	}
	if hlen > MaxNpyHeader {
		return nil, fmt.Errorf(".npy header of %d bytes is longer than the %d NumPy accepts", hlen, MaxNpyHeader)
	}
	buf := make([]byte, hlen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("truncated .npy header (%d bytes announced)", hlen)
	}
	h, err := parseNpyDict(buf, major == 3)
	if err != nil {
		return nil, fmt.Errorf(".npy header: %w", err)
	}
	if err := h.setType(); err != nil {
		return nil, err
	}
	h.hdrLen = 8 + hlen + 2
	if major > 1 {
		h.hdrLen += 2
	}
	return h, nil
}

// parseNpyDict parses the header's Python dict literal:
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with
// spaces and ended by a newline. Every key is required, no other key is
// allowed (as NumPy's read_array_header checks).
func parseNpyDict(b []byte, utf8 bool) (*npyHeader, error) {
	if !utf8 {
		for _, c := range b {
			if c >= 0x80 {
				return nil, errors.New("non-ASCII byte in a version 1/2 header")
			}
		}
	}
	p := &dictParser{s: string(bytes.TrimRight(b, " \n\x00"))}
	h := &npyHeader{}
	seen := map[string]bool{}
	p.space()
	if !p.eat('{') {
		return nil, errors.New("want a dict literal starting with '{'")
	}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, fmt.Errorf("key %q repeated", key)
		}
		seen[key] = true
		p.space()
		if !p.eat(':') {
			return nil, fmt.Errorf("want ':' after %q", key)
		}
		p.space()
		switch key {
		case "descr":
			if p.peek() == '[' {
				return nil, errors.New("structured dtypes (a list descr) are not supported")
			}
			if h.descr, err = p.str(); err != nil {
				return nil, err
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				h.fortran = true
			case p.word("False"):
			default:
				return nil, errors.New("fortran_order must be True or False")
			}
		case "shape":
			if h.shape, err = p.tuple(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unexpected key %q (want descr, fortran_order, shape)", key)
		}
		p.space()
		if !p.eat(',') {
			p.space()
			if !p.eat('}') {
				return nil, fmt.Errorf("want ',' or '}' at byte %d", p.i)
			}
			break
		}
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q after the dict", clip(p.s[p.i:]))
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return nil, fmt.Errorf("no %q key", k)
		}
	}
	h.n = 1
	for _, d := range h.shape {
		if d > 0 && h.n > MaxArrayElements/d {
			return nil, fmt.Errorf("shape %s has more than the %d elements nnkit reads", ir.DimsString(h.shape), MaxArrayElements)
		}
		h.n *= d
	}
	return h, nil
}

// setType decodes descr: a byte order (< > | =) and a bool, integer or
// float type of 1, 2, 4 or 8 bytes.
func (h *npyHeader) setType() error {
	t := h.descr
	bad := fmt.Errorf("dtype %s is not supported (want a bool, integer or float array)", t)
	if len(t) < 3 {
		return bad
	}
	switch t[0] {
	case '<', '|', '=':
		h.order = binary.LittleEndian // '=' is native; NumPy writes '<' on the little-endian machines we run on
	case '>':
		h.order = binary.BigEndian
	default:
		return bad
	}
	size, err := strconv.Atoi(t[2:])
	if err != nil {
		return bad
	}
	h.kind, h.size = t[1], size
	switch {
	case h.kind == 'b' && size == 1,
		(h.kind == 'i' || h.kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8),
		h.kind == 'f' && (size == 2 || size == 4 || size == 8):
		return nil
	}
	return bad
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// dictParser is a cursor over the header text.
type dictParser struct {
	s string
	i int
}

func (p *dictParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *dictParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *dictParser) eat(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

func (p *dictParser) word(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

// str reads a '…' or "…" literal without escapes (dtype strings and the
// three keys have none).
func (p *dictParser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", fmt.Errorf("want a quoted string at byte %d", p.i)
	}
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", errors.New("unterminated string")
	}
	s := p.s[p.i+1 : p.i+1+end]
	if strings.ContainsRune(s, '\\') {
		return "", errors.New("escapes in header strings are not supported")
	}
	p.i += end + 2
	return s, nil
}

// tuple reads a shape: (), (n,) or (n, m, ...) of non-negative integers
// (Python 2 files may write 3L).
func (p *dictParser) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, errors.New("shape must be a tuple")
	}
	shape := []int{}
	for {
		p.space()
		if p.eat(')') {
			if len(shape) == 1 && !strings.HasSuffix(strings.TrimRight(p.s[:p.i-1], " "), ",") {
				return nil, errors.New("shape (n) without a comma is not a tuple")
			}
			return shape, nil
		}
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if p.i == start {
			return nil, fmt.Errorf("shape: want a non-negative integer at byte %d", start)
		}
		d, err := strconv.Atoi(p.s[start:p.i])
		if err != nil || d > MaxArrayElements {
			return nil, fmt.Errorf("shape: dimension %s is larger than the %d elements nnkit reads", p.s[start:p.i], MaxArrayElements)
		}
		p.eat('L')
		shape = append(shape, d)
		if len(shape) > maxRank {
			return nil, fmt.Errorf("shape has more than %d dimensions", maxRank)
		}
		p.space()
		if !p.eat(',') {
			p.space()
			if !p.eat(')') {
				return nil, fmt.Errorf("shape: want ',' or ')' at byte %d", p.i)
			}
			return shape, nil
		}
	}
}

// ReadNpy reads one .npy array (a file numpy.save wrote, or a member of an
// .npz archive) as a row-major tensor: float arrays (16, 32 or 64 bits) as
// float32, integer and bool arrays as int64. Fortran-order data is
// reordered; bytes after the last value are ignored, as numpy.load does.
// The header is validated before anything is allocated (MaxNpyHeader,
// MaxArrayElements); when r is a file or an in-memory reader, its size is
// checked against the shape first, otherwise memory grows only as data
// arrives.
func ReadNpy(r io.Reader) (*Tensor, error) {
	h, err := readNpyHeader(r)
	if err != nil {
		return nil, err
	}
	avail := int64(-1)
	switch v := r.(type) {
	case *bytes.Reader:
		avail = int64(v.Len())
	case *os.File:
		if st, err := v.Stat(); err == nil && st.Mode().IsRegular() {
			if pos, err := v.Seek(0, io.SeekCurrent); err == nil {
				avail = st.Size() - pos
			}
		}
	}
	if avail >= 0 && avail < h.dataBytes() {
		return nil, h.short(avail)
	}
	return h.read(r, avail >= 0)
}

// ReadNpyFile reads an .npy file (refusing anything but a regular file).
func ReadNpyFile(path string) (*Tensor, error) {
	f, _, err := safefile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ReadNpy(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func (h *npyHeader) short(have int64) error {
	return fmt.Errorf("shape %s of %s needs %d bytes of data, the file holds %d (truncated?)", ir.DimsString(h.shape), h.descr, h.dataBytes(), have)
}

// chunk is how many bytes are read and converted at a time.
const chunk = 1 << 20

// read reads the data the header describes: exactly h.dataBytes() bytes,
// converted chunk by chunk (floats to float32; integers and bools to
// int64). sized says the caller checked that r holds them
// all: the result is then allocated once, at its size; otherwise it grows
// as data arrives, so that a header lying about a stream costs nothing.
func (h *npyHeader) read(r io.Reader, sized bool) (*Tensor, error) {
	t := &Tensor{DType: ir.Int64, Shape: h.shape}
	float := h.kind == 'f'
	esize := int64(8)
	if float {
		t.DType, esize = ir.Float32, 4
	}
	if int64(h.n)*esize > MaxArrayBytes {
		return nil, fmt.Errorf("shape %s of %s decodes to %d bytes (%s), more than the %d nnkit holds per array",
			ir.DimsString(h.shape), h.descr, int64(h.n)*esize, t.DType, int64(MaxArrayBytes))
	}
	per := chunk / h.size
	buf := make([]byte, min(int64(per*h.size), h.dataBytes()))
	// Grow the destination as data arrives (a header may promise more
	// than the stream holds), but never beyond what the shape says.
	capHint := min(h.n, 4*per)
	if sized {
		capHint = h.n
	}
	if float {
		t.F = make([]float32, 0, capHint)
	} else {
		t.I = make([]int64, 0, capHint)
	}
	for done := 0; done < h.n; {
		m := min(per, h.n-done)
		b := buf[:m*h.size]
		if k, err := io.ReadFull(r, b); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil, h.short(int64(done*h.size + k))
			}
			return nil, err
		}
		if float {
			t.F = h.appendFloats(t.F, b)
		} else {
			t.I = h.appendInts(t.I, b)
		}
		done += m
	}
	if h.fortran && len(h.shape) > 1 {
		if float {
			t.F = fromFortran(t.F, h.shape)
		} else {
			t.I = fromFortran(t.I, h.shape)
		}
	}
	return t, nil
}

// appendFloats converts float data (16, 32 or 64 bits) to float32.
func (h *npyHeader) appendFloats(dst []float32, b []byte) []float32 {
	o := h.order
	for i := 0; i < len(b); i += h.size {
		var v float32
		switch h.size {
		case 2:
			v = ir.HalfToFloat32(o.Uint16(b[i:]))
		case 4:
			v = math.Float32frombits(o.Uint32(b[i:]))
		case 8:
			v = float32(math.Float64frombits(o.Uint64(b[i:])))
		}
		dst = append(dst, v)
	}
	return dst
}

// appendInts converts integer and bool data to int64.
func (h *npyHeader) appendInts(dst []int64, b []byte) []int64 {
	for i := 0; i < len(b); i += h.size {
		if h.kind == 'u' {
			dst = append(dst, int64(h.uint(b[i:])))
		} else {
			dst = append(dst, h.int(b[i:]))
		}
	}
	return dst
}

// int reads a signed integer or bool (b1: any non-zero byte is True).
func (h *npyHeader) int(b []byte) int64 {
	switch h.size {
	case 1:
		if h.kind == 'b' {
			if b[0] != 0 {
				return 1
			}
			return 0
		}
		return int64(int8(b[0]))
	case 2:
		return int64(int16(h.order.Uint16(b)))
	case 4:
		return int64(int32(h.order.Uint32(b)))
	}
	return int64(h.order.Uint64(b))
}

func (h *npyHeader) uint(b []byte) uint64 {
	switch h.size {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(h.order.Uint16(b))
	case 4:
		return uint64(h.order.Uint32(b))
	}
	return h.order.Uint64(b)
}

// EncodeNpy encodes a tensor as an .npy (format 1.0) file: float32 as <f4,
// integers as <i8, bools as |b1. (npyio's npy.Write takes an N-d shape only
// from nested slices or a mat.Dense, not from a flat slice and a shape.)
func EncodeNpy(t *Tensor) ([]byte, error) {
	descr := "<f4"
	switch t.DType {
	case ir.Float32:
	case ir.Bool:
		descr = "|b1"
	default:
		descr = "<i8"
	}
	shape := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		shape[i] = fmt.Sprint(d)
	}
	tuple := "(" + strings.Join(shape, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	tuple += ")"
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, tuple)
	// magic(6) + version(2) + length(2) + header + padding + \n ≡ 0 mod 64
	pad := 64 - (10+len(hdr)+1)%64
	if pad == 64 {
		pad = 0
	}
	hdr += strings.Repeat(" ", pad) + "\n"
	if len(hdr) > math.MaxUint16 {
		return nil, fmt.Errorf("shape %v is too long for an .npy header", t.Shape)
	}
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	b.WriteString(hdr)
	switch descr {
	case "<f4":
		buf := make([]byte, 4*len(t.F))
		for i, v := range t.F {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		b.Write(buf)
	case "|b1":
		for _, v := range t.I {
			if v != 0 {
				b.WriteByte(1)
			} else {
				b.WriteByte(0)
			}
		}
	default:
		buf := make([]byte, 8*len(t.I))
		for i, v := range t.I {
			binary.LittleEndian.PutUint64(buf[8*i:], uint64(v))
		}
		b.Write(buf)
	}
	return b.Bytes(), nil
}

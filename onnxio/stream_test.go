package onnxio

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/nnkit/nnkit/internal/irtest"
)

// readBoth reads the file at path with ReadFile and its bytes with Decode
// (same name and directory) and fails t unless they agree: same error, or
// models that encode to the same bytes.
func readBoth(t *testing.T, path string) {
	t.Helper()
	got, gerr := ReadFile(path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, werr := Decode(b, &ReadOptions{Name: path, BaseDir: filepath.Dir(path)})
	switch {
	case (gerr == nil) != (werr == nil):
		t.Fatalf("%s: ReadFile: %v\nDecode: %v", path, gerr, werr)
	case gerr != nil:
		if gerr.Error() != werr.Error() {
			t.Fatalf("%s: errors differ:\nReadFile: %v\nDecode: %v", path, gerr, werr)
		}
	default:
		gb, err1 := Encode(got)
		wb, err2 := Encode(want)
		if err1 != nil || err2 != nil || !bytes.Equal(gb, wb) {
			t.Fatalf("%s: ReadFile and Decode differ (encode: %v / %v; %d / %d bytes)", path, err1, err2, len(gb), len(wb))
		}
	}
}

// streams reports whether ReadFile takes the streaming path for path.
func streams(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	_, err = readStreaming(f, st, &ReadOptions{Name: path, BaseDir: filepath.Dir(path)})
	return err != errNotWire
}

// TestReadFileStreams: ReadFile reads every fixture model without holding
// the file (issue 9) and gets what Decode gets from its bytes.
func TestReadFileStreams(t *testing.T) {
	for _, f := range fixtureModels(t) {
		if !streams(t, f) {
			t.Errorf("%s: ReadFile read the whole file", f)
		}
		readBoth(t, f)
	}
}

// interleaved encodes tinyModel with its graph's fields in the order
// node, initializer, input, node, initializer, output, so that nodes and
// initializers lie in several runs of the file, plus what extra adds to
// the graph.
func interleaved(t *testing.T, extra []byte) []byte {
	m := tinyModel()
	g := m.Graph
	var gb []byte
	add := func(num protowire.Number, msg proto.Message) {
		b, err := proto.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		gb = protowire.AppendBytes(protowire.AppendTag(gb, num, protowire.BytesType), b)
	}
	add(graphNodeField, g.Node[0])
	add(graphInitializerField, g.Initializer[0])
	add(graphInputField, g.Input[0])
	add(graphNodeField, g.Node[1])
	add(graphInitializerField, g.Initializer[1])
	add(12, g.Output[0])
	gb = protowire.AppendString(protowire.AppendTag(gb, 2, protowire.BytesType), "tiny")
	gb = append(gb, extra...)
	m.Graph = nil
	mb, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return protowire.AppendBytes(protowire.AppendTag(mb, modelGraphField, protowire.BytesType), gb)
}

// The file scan and its fallbacks: fields of a graph in several runs,
// truncations, group-typed fields (left to protobuf), gzip, a file that is
// not a model: ReadFile agrees with Decode on all of them.
func TestReadFileStreamEdgeCases(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	b := interleaved(t, nil)
	w, ok := scanFile(bytes.NewReader(b), int64(len(b)))
	if !ok || w.file == nil || len(w.file.runs) != 4 || w.nodes != 2 || w.values != 3 {
		t.Fatalf("scan of the interleaved model: ok %v, %+v", ok, w.file)
	}
	if !wireVsProto(t, b) {
		t.Fatal("interleaved model: not decoded by the wire decoder")
	}
	p := write("interleaved.onnx", b)
	if !streams(t, p) {
		t.Error("interleaved model: ReadFile read the whole file")
	}
	readBoth(t, p)
	counted := -1
	if m, err := ReadFileWith(p, ReadOptions{OnGraph: func(n int) { counted = n }}); err != nil || len(m.Graph.Nodes) != 2 || len(m.Graph.Initializers) != 2 {
		t.Fatalf("interleaved model: %v", err)
	}
	if counted != 2 {
		t.Errorf("ReadFile: OnGraph got %d nodes, want 2", counted)
	}
	counted = -1
	if _, err := Decode(b, &ReadOptions{OnGraph: func(n int) { counted = n }}); err != nil || counted != 2 {
		t.Errorf("Decode: OnGraph got %d nodes (%v), want 2", counted, err)
	}

	for cut := 1; cut < len(b); cut += 5 {
		readBoth(t, write("cut.onnx", b[:cut]))
	}

	// A group-typed field in the graph: protobuf skips it as unknown.
	group := protowire.AppendTag(nil, 20, protowire.StartGroupType)
	group = protowire.AppendTag(group, 20, protowire.EndGroupType)
	p = write("group.onnx", interleaved(t, group))
	if streams(t, p) {
		t.Error("a group-typed field was not left to the whole-file decoders")
	}
	readBoth(t, p)

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b)
	zw.Close()
	p = write("model.onnx.gz", gz.Bytes())
	if streams(t, p) {
		t.Error("a gzip file was scanned as protobuf")
	}
	readBoth(t, p)
	readBoth(t, write("text.onnx", []byte("not a model at all\n")))
	readBoth(t, write("one.onnx", []byte{8}))
}

// TestReadFileMemory: reading a model file allocates about what its IR
// keeps plus the garbage of decoding, and not a copy of the file (issue 9:
// the 20 MB file of a 200k-node chain was held while its graph was built).
// Measured on this 20k-node chain (2.0 MB file): ReadFile allocates 3.7×
// the file, as Decode of the bytes does (4.7× when ReadFile read the whole
// file first). The bound, 4.3×, leaves 16 % above the measurement and
// fails on that copy.
func TestReadFileMemory(t *testing.T) {
	const n = 20000
	b, err := Encode(irtest.Chain(n))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "chain.onnx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	size := float64(len(b))
	b = nil
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	total := ms.TotalAlloc
	m, err := ReadFile(p)
	runtime.ReadMemStats(&ms)
	churn := float64(ms.TotalAlloc - total)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ReadFile of a %d-node chain (%.0f bytes) allocated %.1f× the file", n, size, churn/size)
	if churn > 4.3*size {
		t.Errorf("ReadFile allocated %.1f× the file size; want ≤ 4.3× (a copy of the whole file is back?)", churn/size)
	}
	runtime.KeepAlive(m)
}

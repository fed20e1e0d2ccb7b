package onnxio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/nnkit/nnkit/onnxio/internal/onnxpb"
)

// externalModel writes the tiny model with fc.weight stored externally at
// location loc (the data file itself is written by the caller).
func externalModel(t *testing.T, dir, loc string) string {
	t.Helper()
	m := tinyModel()
	w := m.Graph.Initializer[0]
	w.RawData = nil
	w.DataLocation = pb.TensorProto_EXTERNAL.Enum()
	w.ExternalData = []*pb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String(loc)}}
	path := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(path, mustMarshal(t, m), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExternalDataWriteRead(t *testing.T) {
	src, err := ReadFile("../testdata/models/small_cnn/train.onnx")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "ext.onnx")
	if err := WriteFile(out, src, &WriteOptions{External: ExternalAll}); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(out)
	if st.Size() > 64<<10 {
		t.Fatalf("model file is %d bytes: tensors were not moved out", st.Size())
	}
	if _, err := os.Stat(out + ".data"); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range src.Graph.Initializers {
		got := back.Graph.Initializer(v.Name)
		if got == nil || string(got.Raw) != string(v.Init.Raw) {
			t.Fatalf("initializer %s differs after external round trip", v.Name)
		}
		if len(v.Init.Raw) >= 1024 {
			if got.External == nil || got.External.Offset%4096 != 0 {
				t.Fatalf("initializer %s: external %+v, want page-aligned external data", v.Name, got.External)
			}
		}
	}
	// Writing again in auto mode keeps external tensors external, in a
	// side file named after the new model.
	dir2 := t.TempDir()
	out2 := filepath.Join(dir2, "again.onnx")
	if err := WriteFile(out2, back, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir2, "again.onnx.data")); err != nil {
		t.Fatalf("auto mode did not keep the tensors external: %v", err)
	}
	again, err := ReadFile(out2)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Graph.Initializer("conv1.weight").Raw) != string(src.Graph.Initializer("conv1.weight").Raw) {
		t.Fatal("data changed")
	}
}

func TestExternalDataErrors(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.bin"), make([]byte, 48), 0o644)
	cases := []struct {
		name  string
		loc   string
		setup func(dir string)
		want  string
	}{
		{"absolute", filepath.Join(outside, "secret.bin"), nil, "absolute path"},
		{"dotdot", "../secret.bin", nil, `contains ".."`},
		{"dotdot-inner", "sub/../../secret.bin", nil, `contains ".."`},
		{"backslash-dotdot", `sub\..\..\secret.bin`, nil, `contains ".."`},
		{"symlink-out", "link.bin", func(dir string) {
			os.Symlink(filepath.Join(outside, "secret.bin"), filepath.Join(dir, "link.bin"))
		}, "outside the model's directory"},
		{"symlink-dir-out", "d/secret.bin", func(dir string) {
			os.Symlink(outside, filepath.Join(dir, "d"))
		}, "outside the model's directory"},
		{"missing", "nope.bin", nil, "no such file"},
		{"short", "short.bin", func(dir string) {
			os.WriteFile(filepath.Join(dir, "short.bin"), make([]byte, 10), 0o644)
		}, "too few"},
		{"directory", "adir", func(dir string) { os.Mkdir(filepath.Join(dir, "adir"), 0o755) }, "not a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.setup != nil {
				c.setup(dir)
			}
			path := externalModel(t, dir, c.loc)
			_, err := ReadFile(path)
			if err == nil {
				t.Fatal("read succeeded")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "fc.weight") || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q lacks %q, the tensor or the file", err, c.want)
			}
		})
	}
	// Inside the directory, through a symlink that stays inside: allowed.
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "w"), 0o755)
	os.WriteFile(filepath.Join(dir, "w", "data.bin"), make([]byte, 48), 0o644)
	os.Symlink(filepath.Join(dir, "w", "data.bin"), filepath.Join(dir, "ok.bin"))
	if _, err := ReadFile(externalModel(t, dir, "ok.bin")); err != nil {
		t.Fatalf("symlink inside the model directory refused: %v", err)
	}
	if _, err := ReadFile(externalModel(t, dir, "w/data.bin")); err != nil {
		t.Fatalf("subdirectory location refused: %v", err)
	}
	// Bytes without a base directory cannot resolve external data.
	b, _ := os.ReadFile(externalModel(t, dir, "ok.bin"))
	if _, err := Decode(b, nil); err == nil || !strings.Contains(err.Error(), "external data") {
		t.Fatalf("Decode without BaseDir: %v", err)
	}
	// Writers refuse unsafe locations too.
	m, _ := Decode(mustMarshal(t, tinyModel()), nil)
	for _, loc := range []string{"/etc/x.data", "../x.data"} {
		if err := WriteFile(filepath.Join(t.TempDir(), "m.onnx"), m, &WriteOptions{External: ExternalAll, Location: loc, Threshold: 1}); err == nil {
			t.Fatalf("write with location %q accepted", loc)
		}
	}
}

// TestUnknownFieldsPreserved injects fields this schema does not know at
// several levels; a read/write round trip must keep every one.
func TestUnknownFieldsPreserved(t *testing.T) {
	m := tinyModel()
	add := func(msg proto.Message, num protowire.Number, v string) {
		u := msg.ProtoReflect().GetUnknown()
		u = protowire.AppendTag(u, num, protowire.BytesType)
		u = protowire.AppendString(u, v)
		msg.ProtoReflect().SetUnknown(u)
	}
	add(m, 900, "model-extra")
	add(m.Graph, 901, "graph-extra")
	add(m.Graph.Node[0], 902, "node-extra")
	add(m.Graph.Node[0].Attribute[0], 903, "attr-extra")
	add(m.Graph.Initializer[1], 904, "tensor-extra")
	add(m.Graph.Input[0], 905, "valueinfo-extra")
	add(m.OpsetImport[0], 906, "opset-extra")
	m.DocString = proto.String("a model")
	m.MetadataProps = []*pb.StringStringEntryProto{{Key: proto.String("author"), Value: proto.String("me")}}
	m.Graph.ValueInfo = []*pb.ValueInfoProto{{Name: proto.String("h"), DocString: proto.String("hidden")}}
	m.Graph.Node[1].DocString = proto.String("activation")
	m.Functions = []*pb.FunctionProto{{Name: proto.String("f"), Domain: proto.String("custom"), Input: []string{"a"}, Output: []string{"b"}}}
	orig := mustMarshal(t, m)
	got, err := Decode(orig, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Encode(got)
	if err != nil {
		t.Fatal(err)
	}
	a, b := &pb.ModelProto{}, &pb.ModelProto{}
	proto.Unmarshal(orig, a)
	proto.Unmarshal(out, b)
	if !proto.Equal(a, b) {
		t.Fatalf("round trip lost something:\nwant %v\ngot  %v", a, b)
	}
	for _, s := range []string{"model-extra", "graph-extra", "node-extra", "attr-extra", "tensor-extra", "valueinfo-extra", "opset-extra"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("%s missing from the output", s)
		}
	}
}

func TestAliasing(t *testing.T) {
	// Large raw_data is not copied: the tensor's bytes lie inside the
	// buffer the model was decoded from.
	m := tinyModel()
	m.Graph.Initializer[0].Dims = []int64{64, 64}
	m.Graph.Initializer[0].RawData = make([]byte, 4*64*64)
	m.Graph.Initializer[0].RawData[7] = 42
	b := mustMarshal(t, m)
	got, err := Decode(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := got.Graph.Initializer("fc.weight")
	if w.Raw[7] != 42 {
		t.Fatal("wrong data")
	}
	b[len(b)/2] ^= 0xFF // flip a byte in the middle of the weights
	found := false
	for i := range w.Raw {
		if w.Raw[i] != 0 && i != 7 {
			found = true
		}
	}
	if !found {
		t.Fatal("tensor does not alias the input buffer")
	}
}

func TestWriteFileLeavesNoTemporaries(t *testing.T) {
	m, err := Decode(mustMarshal(t, tinyModel()), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteFile(filepath.Join(dir, "m.onnx"), m, &WriteOptions{External: ExternalAll, Threshold: 1}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 || names[0] != "m.onnx" || names[1] != "m.onnx.data" {
		t.Fatalf("directory holds %v", names)
	}
	// A failing write (directory missing) leaves nothing behind.
	if err := WriteFile(filepath.Join(dir, "missing", "m.onnx"), m, nil); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

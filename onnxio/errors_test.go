package onnxio

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nnkit/nnkit/ir"
	pb "github.com/nnkit/nnkit/onnxio/internal/onnxpb"
)

// tinyModel is a valid two-node model: y = Relu(x·W + b) as Gemm + Relu.
func tinyModel() *pb.ModelProto {
	f32 := func(name string, dims []int64, n int) *pb.TensorProto {
		return &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(1), Dims: dims, RawData: make([]byte, 4*n)}
	}
	vi := func(name string, dims ...any) *pb.ValueInfoProto {
		sp := &pb.TensorShapeProto{}
		for _, d := range dims {
			switch d := d.(type) {
			case int:
				sp.Dim = append(sp.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
			case string:
				sp.Dim = append(sp.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: d}})
			}
		}
		return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(1), Shape: sp}}}}
	}
	return &pb.ModelProto{
		IrVersion:   proto.Int64(7),
		OpsetImport: []*pb.OperatorSetIdProto{{Version: proto.Int64(13)}},
		Graph: &pb.GraphProto{
			Name: proto.String("tiny"),
			Node: []*pb.NodeProto{
				{Name: proto.String("fc"), OpType: proto.String("Gemm"), Input: []string{"x", "fc.weight", "fc.bias"}, Output: []string{"h"},
					Attribute: []*pb.AttributeProto{{Name: proto.String("transB"), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(1)}}},
				{Name: proto.String("act"), OpType: proto.String("Relu"), Input: []string{"h"}, Output: []string{"y"}},
			},
			Initializer: []*pb.TensorProto{f32("fc.weight", []int64{3, 4}, 12), f32("fc.bias", []int64{3}, 3)},
			Input:       []*pb.ValueInfoProto{vi("x", "batch", 4)},
			Output:      []*pb.ValueInfoProto{vi("y", "batch", 3)},
		},
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readErr writes b to a file called name and reads it back, returning the
// error, which must be an *Error naming the file.
func readErr(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ReadFile(path)
	if err == nil {
		t.Fatalf("%s: read succeeded (%d nodes), want an error", name, len(m.Graph.Nodes))
	}
	var oe *Error
	if !errors.As(err, &oe) {
		t.Fatalf("%s: error %T is not *onnxio.Error: %v", name, err, err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error does not name the file %s: %v", path, err)
	}
	return err.Error()
}

func TestTinyModelIsValid(t *testing.T) {
	m, err := Decode(mustMarshal(t, tinyModel()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(m.Graph.Nodes); got != 2 {
		t.Fatalf("nodes = %d", got)
	}
}

func TestMalformedInputs(t *testing.T) {
	good := mustMarshal(t, tinyModel())
	cases := []struct {
		name  string
		bytes func() []byte
		want  []string // substrings the error must contain
	}{
		{"truncated.onnx", func() []byte { return good[:len(good)/2] }, []string{"truncated"}},
		{"empty.onnx", func() []byte { return nil }, []string{"empty"}},
		{"text.onnx", func() []byte { return []byte("this is a text file, not a model\n") }, []string{"not a valid ONNX model"}},
		{"png.onnx", func() []byte { return []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10") }, []string{"not a valid ONNX model"}},
		{"nograph.onnx", func() []byte {
			m := tinyModel()
			m.Graph = nil
			return mustMarshal(t, m)
		}, []string{"no graph"}},
		{"dangling.onnx", func() []byte {
			m := tinyModel()
			m.Graph.Node[1].Input[0] = "nowhere"
			return mustMarshal(t, m)
		}, []string{`node act (Relu): input 0 "nowhere" is not a graph input, an initializer or the output of any node`}},
		{"missing-initializer.onnx", func() []byte {
			m := tinyModel()
			m.Graph.Initializer = m.Graph.Initializer[1:] // drop fc.weight
			return mustMarshal(t, m)
		}, []string{`node fc (Gemm): input 1 "fc.weight"`}},
		{"duplicate-output.onnx", func() []byte {
			m := tinyModel()
			m.Graph.Node[1].Output[0] = "h"
			m.Graph.Output[0].Name = proto.String("h")
			return mustMarshal(t, m)
		}, []string{`node act (Relu): output "h" is also produced by node fc (Gemm)`}},
		{"cycle.onnx", func() []byte {
			m := tinyModel()
			m.Graph.Node[0].Input[0] = "y" // fc reads act's output
			m.Graph.Input = nil
			return mustMarshal(t, m)
		}, []string{"cycle", "fc (Gemm)", "act (Relu)"}},
		{"short-data.onnx", func() []byte {
			m := tinyModel()
			m.Graph.Initializer[0].RawData = make([]byte, 40) // 10 floats for [3,4]
			return mustMarshal(t, m)
		}, []string{`tensor "fc.weight"`, "needs 48 bytes", "holds 40"}},
		{"short-typed-data.onnx", func() []byte {
			m := tinyModel()
			m.Graph.Initializer[1].RawData = nil
			m.Graph.Initializer[1].FloatData = []float32{1, 2}
			return mustMarshal(t, m)
		}, []string{`tensor "fc.bias"`, "declares 3 elements", "holds 2"}},
		{"absurd-dims.onnx", func() []byte {
			m := tinyModel()
			m.Graph.Initializer[0].Dims = []int64{1 << 20, 1 << 20} // 2^40 elements, 16 bytes of data
			m.Graph.Initializer[0].RawData = make([]byte, 16)
			return mustMarshal(t, m)
		}, []string{`tensor "fc.weight"`, "[1048576, 1048576]"}},
		{"absurd-typed.onnx", func() []byte {
			m := tinyModel()
			m.Graph.Initializer[0].Dims = []int64{1 << 40}
			m.Graph.Initializer[0].RawData = nil
			m.Graph.Initializer[0].FloatData = []float32{1}
			return mustMarshal(t, m)
		}, []string{`tensor "fc.weight"`, "declares 1099511627776 elements"}},
		{"overflow-dims.onnx", func() []byte {
			m := tinyModel()
			m.Graph.Initializer[0].Dims = []int64{1 << 62, 1 << 62}
			return mustMarshal(t, m)
		}, []string{`tensor "fc.weight"`, "2^63"}},
		{"negative-dim.onnx", func() []byte {
			m := tinyModel()
			m.Graph.Initializer[0].Dims = []int64{-3, 4}
			return mustMarshal(t, m)
		}, []string{`tensor "fc.weight"`, "negative"}},
		{"no-opset.onnx", func() []byte {
			m := tinyModel()
			m.OpsetImport = nil
			return mustMarshal(t, m)
		}, []string{"opset"}},
		{"duplicate-initializer.onnx", func() []byte {
			m := tinyModel()
			m.Graph.Initializer = append(m.Graph.Initializer, m.Graph.Initializer[1])
			return mustMarshal(t, m)
		}, []string{`initializer "fc.bias" is defined twice`}},
		{"unknown-dtype.onnx", func() []byte {
			m := tinyModel()
			m.Graph.Initializer[1].DataType = proto.Int32(99)
			return mustMarshal(t, m)
		}, []string{`tensor "fc.bias"`, "unknown data type 99"}},
		{"undefined-output.onnx", func() []byte {
			m := tinyModel()
			m.Graph.Output[0].Name = proto.String("z")
			return mustMarshal(t, m)
		}, []string{`output "z" is not produced`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := readErr(t, c.name, c.bytes())
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}

// TestErrorsAreCollected checks that independent problems are reported
// together rather than one per attempt.
func TestErrorsAreCollected(t *testing.T) {
	m := tinyModel()
	m.Graph.Node[1].Input[0] = "nowhere"
	m.Graph.Initializer[1].RawData = make([]byte, 2)
	msg := readErr(t, "two.onnx", mustMarshal(t, m))
	if !strings.Contains(msg, "nowhere") || !strings.Contains(msg, "fc.bias") {
		t.Fatalf("want both problems reported:\n%s", msg)
	}
}

func TestReadMissingFile(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "nope.onnx"))
	if err == nil || !strings.Contains(err.Error(), "nope.onnx") || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err = %v", err)
	}
	_, err = ReadFile(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("err = %v", err)
	}
}

// TestAbsurdDimsDoNotAllocate: a tensor declaring 2^40 elements is rejected
// without allocating anything near that size.
func TestAbsurdDimsDoNotAllocate(t *testing.T) {
	m := tinyModel()
	m.Graph.Initializer[0].Dims = []int64{1 << 40}
	m.Graph.Initializer[0].RawData = make([]byte, 16)
	b := mustMarshal(t, m)
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := Decode(b, nil); err == nil {
			t.Fatal("accepted")
		}
	})
	if allocs > 500 {
		t.Fatalf("%v allocations decoding a tiny malformed model", allocs)
	}
}

func TestDataTypes(t *testing.T) {
	// Each type in raw_data and in its typed field must decode to the same
	// values, and both forms must survive a write.
	type tc struct {
		dt    ir.DType
		raw   []byte
		typed func(*pb.TensorProto)
		want  []float64
	}
	cases := []tc{
		{ir.Float32, []byte{0, 0, 128, 63, 0, 0, 0, 192}, func(p *pb.TensorProto) { p.FloatData = []float32{1, -2} }, []float64{1, -2}},
		{ir.Float64, []byte{0, 0, 0, 0, 0, 0, 240, 63, 0, 0, 0, 0, 0, 0, 0, 192}, func(p *pb.TensorProto) { p.DoubleData = []float64{1, -2} }, []float64{1, -2}},
		{ir.Float16, []byte{0x00, 0x3c, 0x00, 0xc0}, func(p *pb.TensorProto) { p.Int32Data = []int32{0x3c00, 0xc000} }, []float64{1, -2}},
		{ir.BFloat16, []byte{0x80, 0x3f, 0x00, 0xc0}, func(p *pb.TensorProto) { p.Int32Data = []int32{0x3f80, 0xc000} }, []float64{1, -2}},
		{ir.Int8, []byte{1, 0xfe}, func(p *pb.TensorProto) { p.Int32Data = []int32{1, -2} }, []float64{1, -2}},
		{ir.Uint8, []byte{1, 200}, func(p *pb.TensorProto) { p.Int32Data = []int32{1, 200} }, []float64{1, 200}},
		{ir.Int16, []byte{1, 0, 0xfe, 0xff}, func(p *pb.TensorProto) { p.Int32Data = []int32{1, -2} }, []float64{1, -2}},
		{ir.Int32, []byte{1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff}, func(p *pb.TensorProto) { p.Int32Data = []int32{1, -2} }, []float64{1, -2}},
		{ir.Int64, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, func(p *pb.TensorProto) { p.Int64Data = []int64{1, -2} }, []float64{1, -2}},
		{ir.Bool, []byte{1, 0}, func(p *pb.TensorProto) { p.Int32Data = []int32{1, 0} }, []float64{1, 0}},
	}
	for _, c := range cases {
		t.Run(c.dt.String(), func(t *testing.T) {
			for _, form := range []string{"raw", "typed"} {
				m := tinyModel()
				p := &pb.TensorProto{Name: proto.String("c"), DataType: proto.Int32(int32(c.dt)), Dims: []int64{2}}
				if form == "raw" {
					p.RawData = c.raw
				} else {
					c.typed(p)
				}
				m.Graph.Initializer = append(m.Graph.Initializer, p)
				orig := mustMarshal(t, m)
				got, err := Decode(orig, nil)
				if err != nil {
					t.Fatal(err)
				}
				tn := got.Graph.Initializer("c")
				vals, err := tn.Float64s()
				if err != nil {
					t.Fatal(err)
				}
				for i := range c.want {
					if vals[i] != c.want[i] {
						t.Fatalf("%s: values %v, want %v", form, vals, c.want)
					}
				}
				out, err := Encode(got)
				if err != nil {
					t.Fatal(err)
				}
				a, b := &pb.ModelProto{}, &pb.ModelProto{}
				proto.Unmarshal(orig, a)
				proto.Unmarshal(out, b)
				if !proto.Equal(a, b) {
					t.Fatalf("%s: round trip changed the tensor:\n%v\n%v", form, a.Graph.Initializer[2], b.Graph.Initializer[2])
				}
			}
		})
	}
}

func TestOneMessagePerProblem(t *testing.T) {
	m := tinyModel()
	m.Graph.Initializer[0].Dims = []int64{1 << 40}
	m.Graph.Initializer[0].RawData = nil
	m.Graph.Initializer[0].FloatData = []float32{1}
	msg := readErr(t, "once.onnx", mustMarshal(t, m))
	if n := strings.Count(msg, "fc.weight"); n != 1 {
		t.Fatalf("fc.weight reported %d times:\n%s", n, msg)
	}
}

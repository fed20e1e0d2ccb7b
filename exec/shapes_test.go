package exec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// ir's shape inference is the reference for the shapes the planners
// compute: on every fixture (train and eval graphs), every value the
// executor plans has the shape InferShapes gives it for the same input
// shape, wherever inference determines one.
func TestPlannedShapesMatchInference(t *testing.T) {
	dirs, err := os.ReadDir(modelsDir)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, d := range dirs {
		g := loadGolden(t, d.Name())
		for _, file := range []string{"train.onnx", "eval.onnx"} {
			path := filepath.Join(g.dir, file)
			if _, err := os.Stat(path); err != nil {
				continue
			}
			t.Run(d.Name()+"/"+file, func(t *testing.T) {
				checked += comparePlannedShapes(t, path, g.get(t, "input").shape)
			})
		}
	}
	t.Logf("%d values compared", checked)
	if checked < 1000 {
		t.Errorf("only %d values compared", checked)
	}
}

// comparePlannedShapes plans the model at path for an input of shape in
// and compares each planned value's shape with inference's; it returns how
// many it compared.
func comparePlannedShapes(t *testing.T, path string, in []int) int {
	m, err := onnxio.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(Eval, map[string]*Tensor{"input": {DType: ir.Float32, Shape: in, F: make([]float32, numel(in))}}); err != nil {
		t.Fatal(err)
	}
	planned := map[string][]int{}
	for v, x := range p.e.plans[0].vals {
		planned[v.Name] = x.shape
	}
	ref, err := onnxio.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range ref.Graph.DataInputs() {
		v.Type = ir.TensorType(ir.Float32, ir.StaticShape(i64s(in)))
	}
	if _, err := ir.InferShapes(ref); err != nil {
		t.Fatalf("inference: %v", err)
	}
	n := 0
	for _, node := range ref.Graph.Nodes {
		for _, v := range node.Outputs {
			if v == nil {
				continue
			}
			want, ok := v.Shape().Eval(nil)
			got, planned := planned[v.Name]
			if !ok || !planned {
				continue
			}
			if !sameShape(got, dims(want)) {
				t.Errorf("%s (%s %s): planned %v, inferred %v", v.Name, node.OpType, node.Label(), got, want)
			}
			n++
		}
	}
	return n
}

// A Split into more parts than inference follows in a whole graph (a
// 300-entry split input) still takes its shapes from ir.InferNode.
func TestSplitManyOutputs(t *testing.T) {
	b := newGB(13)
	x := b.input("x", 2, 300)
	sizes := make([]int64, 300)
	for i := range sizes {
		sizes[i] = 1
	}
	s := b.g.AddInitializer(ir.NewInt64("s", []int64{300}, sizes))
	n := b.g.AddNode("Split", "sp", []*ir.Value{x, s}, 300, ir.IntAttr("axis", 1))
	b.out(n.Outputs[299])
	p, err := Compile(b.model(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	xs := make([]float32, 600)
	for i := range xs {
		xs[i] = float32(i)
	}
	out, err := p.Run(Eval, map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{2, 300}, F: xs}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if !sameShape(o.Shape, []int{2, 1}) || o.F[0] != 299 || o.F[1] != 599 {
			t.Errorf("last part: %v %v, want [2 1] [299 599]", o.Shape, o.F)
		}
	}
}

// Squeeze with an empty axes input drops every dimension of size 1, as
// with no axes: ONNX Runtime 1.30 gives [3] for [1 3 1] and axes [] (the
// spec says only that omitted axes squeeze all single dimensions).
func TestSqueezeEmptyAxes(t *testing.T) {
	b := newGB(13)
	x := b.input("x", 1, 3, 1)
	axes := b.g.AddInitializer(ir.NewInt64("axes", []int64{0}, nil))
	b.out(b.g.AddNode("Squeeze", "sq", []*ir.Value{x, axes}, 1).Outputs[0])
	p, err := Compile(b.model(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run(Eval, map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{1, 3, 1}, F: []float32{1, 2, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if !sameShape(o.Shape, []int{3}) || o.F[2] != 3 {
			t.Errorf("Squeeze([1 3 1], axes []): %v %v, want [3] [1 2 3]", o.Shape, o.F)
		}
	}
}

// Concat's axis is required (ONNX opset ≥ 4; ONNX Runtime refuses the
// model): the executor refuses it too instead of concatenating along 0.
func TestConcatNeedsAxis(t *testing.T) {
	b := newGB(13)
	x := b.input("x", 2, 3)
	b.out(b.g.AddNode("Concat", "cat", []*ir.Value{x, x}, 1).Outputs[0])
	_, err := Compile(b.model(), Options{})
	if err == nil {
		p, _ := Compile(b.model(), Options{})
		_, err = p.Run(Eval, map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{2, 3}, F: make([]float32, 6)}})
	}
	if err == nil || !strings.Contains(err.Error(), "axis") || !strings.Contains(err.Error(), "cat") {
		t.Errorf("Concat without axis: %v, want an error naming the node and the axis", err)
	}
}

package ir_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

type golden struct {
	Params          int64    `json:"params"`
	TrainableParams int64    `json:"trainable_params"`
	Buffers         int64    `json:"buffers"`
	ParamNames      []string `json:"param_names"`
	BufferNames     []string `json:"buffer_names"`
}

func loadGolden(t *testing.T, dir string) golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestParameterCountsMatchPyTorch: on every training-mode export, the
// initializers classified as parameters are exactly PyTorch's
// model.parameters() (names and total count), and the buffers are exactly
// the BatchNorm running statistics.
func TestParameterCountsMatchPyTorch(t *testing.T) {
	dirs, _ := filepath.Glob("../testdata/models/*")
	n := 0
	for _, dir := range dirs {
		for _, file := range []string{"train.onnx", "train_opset15.onnx", "train.onnx.gz"} {
			path := filepath.Join(dir, file)
			if _, err := os.Stat(path); err != nil {
				continue
			}
			n++
			t.Run(filepath.Base(dir)+"/"+file, func(t *testing.T) {
				want := loadGolden(t, dir)
				m, err := onnxio.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				var params, buffers int64
				names := map[string]bool{}
				for _, v := range m.Graph.Parameters() {
					params += v.Init.Len()
					names[v.Name] = true
				}
				for _, v := range m.Graph.Buffers() {
					buffers += v.Init.Len()
				}
				if params != want.TrainableParams || params != want.Params {
					t.Errorf("parameters = %d, PyTorch has %d", params, want.TrainableParams)
				}
				if buffers != want.Buffers {
					t.Errorf("buffers = %d, PyTorch has %d", buffers, want.Buffers)
				}
				for _, p := range want.ParamNames {
					if !names[p] {
						t.Errorf("PyTorch parameter %s is not classified as a parameter", p)
					}
				}
				if len(names) != len(want.ParamNames) {
					t.Errorf("%d parameters, PyTorch has %d", len(names), len(want.ParamNames))
				}
				for _, b := range want.BufferNames {
					if v := m.Graph.Value(b); v == nil || v.Role() != ir.RoleBuffer {
						t.Errorf("buffer %s is not classified as a buffer", b)
					}
				}
			})
		}
	}
	if n < 18 {
		t.Fatalf("only %d training exports found", n)
	}
}

// TestSharedWeightsCountedOnce: a weight read by two nodes (tied
// embeddings, eval exports' deduplicated initializers) is one parameter.
func TestSharedWeightsCountedOnce(t *testing.T) {
	g := ir.NewGraph("tied")
	x := g.AddInput("x", ir.TensorType(ir.Float32, ir.Shape{ir.SymDim("batch"), ir.DimOf(4)}))
	w := g.AddInitializer(ir.NewFloat32("w", []int64{4, 4}, make([]float32, 16)))
	a := g.AddNode("MatMul", "a", []*ir.Value{x, w}, 1)
	b := g.AddNode("MatMul", "b", []*ir.Value{a.Outputs[0], w}, 1)
	g.AddOutput(b.Outputs[0])
	if p := g.Parameters(); len(p) != 1 || p[0].Init.Len() != 16 {
		t.Fatalf("parameters = %v", p)
	}
	if c := w.Consumers(); len(c) != 2 {
		t.Fatalf("consumers = %d", len(c))
	}
}

func TestRoles(t *testing.T) {
	g := ir.NewGraph("roles")
	x := g.AddInput("x", ir.TensorType(ir.Float32, ir.Shape{ir.SymDim("batch"), ir.DimOf(3)}))
	scale := g.AddInitializer(ir.NewFloat32("bn.weight", []int64{3}, []float32{1, 1, 1}))
	bias := g.AddInitializer(ir.NewFloat32("bn.bias", []int64{3}, []float32{0, 0, 0}))
	mean := g.AddInitializer(ir.NewFloat32("bn.running_mean", []int64{3}, []float32{0, 0, 0}))
	vr := g.AddInitializer(ir.NewFloat32("bn.running_var", []int64{3}, []float32{1, 1, 1}))
	bn := g.AddNode("BatchNormalization", "bn", []*ir.Value{x, scale, bias, mean, vr}, 1)
	lo := g.AddInitializer(ir.NewFloat32("lo", nil, []float32{0}))
	hi := g.AddInitializer(ir.NewFloat32("hi", nil, []float32{6}))
	clip := g.AddNode("Clip", "relu6", []*ir.Value{bn.Outputs[0], lo, hi}, 1)
	shape := g.AddInitializer(ir.NewInt64("shape", []int64{2}, []int64{-1, 3}))
	r := g.AddNode("Reshape", "r", []*ir.Value{clip.Outputs[0], shape}, 1)
	c := g.AddNode("Constant", "k", nil, 1, ir.TensorAttr("value", ir.NewFloat32("", nil, []float32{2})))
	mul := g.AddNode("Mul", "m", []*ir.Value{r.Outputs[0], c.Outputs[0]}, 1)
	g.AddOutput(mul.Outputs[0])
	want := map[*ir.Value]ir.Role{
		x: ir.RoleInput, scale: ir.RoleParameter, bias: ir.RoleParameter, mean: ir.RoleBuffer, vr: ir.RoleBuffer,
		lo: ir.RoleConstant, hi: ir.RoleConstant, shape: ir.RoleConstant, c.Outputs[0]: ir.RoleConstant,
		bn.Outputs[0]: ir.RoleActivation,
	}
	for v, r := range want {
		if got := v.Role(); got != r {
			t.Errorf("%s: role %s, want %s", v.Name, got, r)
		}
	}
}

package export_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/tensor"
	"github.com/nnkit/nnkit/train/export"
)

const models = "../../testdata/models"

func golden(t *testing.T, model, key string) *exec.Tensor {
	t.Helper()
	r, err := npz.Open(filepath.Join(models, model, "golden.npz"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rc, err := r.Open(key + ".npy")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	a, err := tensor.ReadNpy(rc)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func count(g *ir.Graph, op string) int {
	k := 0
	for _, n := range g.Nodes {
		if n.OpType == op {
			k++
		}
	}
	return k
}

// TestInferenceEqualsEval converts every training export of the fixtures,
// after one training step has moved its BatchNorm running statistics and
// weights, and checks that the converted graph, written and read back,
// computes exactly (bit for bit: the same kernels on the same weights) what
// the executor computes on the training graph in eval mode, and that
// nothing of training is left in it.
func TestInferenceEqualsEval(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(models, "*", "train*.onnx*"))
	tested, withBN, withDropout := 0, 0, 0
	for _, f := range files {
		model := filepath.Base(filepath.Dir(f))
		name := model + "/" + filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			m, err := onnxio.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			x := golden(t, model, "input")
			prog, err := exec.Compile(m, exec.Options{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			in := prog.Inputs()[0].Name
			feed := map[string]*exec.Tensor{in: x}
			// A training step: batch statistics into the running ones.
			if _, err := prog.Run(exec.Train, feed); err != nil {
				t.Fatal(err)
			}
			if err := prog.WriteBack(); err != nil {
				t.Fatal(err)
			}
			res, err := prog.Run(exec.Eval, feed)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(res[prog.OutputNames()[0]].F)

			nodes := len(m.Graph.Nodes)
			inf, rep, err := export.Inference(m)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Graph.Nodes) != nodes || export.Kind(m) != "" {
				t.Fatal("Inference modified its argument")
			}
			bn, do := count(m.Graph, "BatchNormalization"), count(m.Graph, "Dropout")
			if len(rep.BatchNorms) != bn || len(rep.Dropouts) != do || !rep.Changed() != (bn+do == 0) {
				t.Errorf("report %+v for %d BatchNormalization, %d Dropout", rep, bn, do)
			}
			path := filepath.Join(t.TempDir(), "infer.onnx")
			if err := onnxio.WriteFile(path, inf, nil); err != nil {
				t.Fatal(err)
			}
			back, err := onnxio.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if export.IsTraining(back) {
				t.Error("the converted graph still has a training-mode construct")
			}
			if export.Kind(back) != export.KindInference {
				t.Errorf("metadata %s = %q", export.MetaGraph, export.Kind(back))
			}
			checkInferenceForm(t, back, bn)
			// Converting again changes nothing.
			again, rep2, err := export.Inference(back)
			if err != nil || rep2.Changed() || len(again.Graph.Nodes) != len(back.Graph.Nodes) || len(again.Graph.Initializers) != len(back.Graph.Initializers) {
				t.Errorf("a second conversion: %v, %+v", err, rep2)
			}
			p2, err := exec.Compile(back, exec.Options{})
			if err != nil {
				t.Fatal(err)
			}
			// Eval and Train mode agree on the converted graph only if
			// nothing modal is left that computes differently: check Eval.
			res2, err := p2.Run(exec.Eval, feed)
			if err != nil {
				t.Fatal(err)
			}
			got := res2[p2.OutputNames()[0]].F
			if !slices.Equal(got, want) {
				t.Errorf("converted graph's output differs from the training graph's eval output (first %v vs %v)", got[:min(4, len(got))], want[:min(4, len(want))])
			}
			tested++
			if bn > 0 {
				withBN++
			}
			if do > 0 {
				withDropout++
			}
		})
	}
	// The fixtures include BatchNorm at opset 13 and 15, Dropout at 13 and 15.
	if tested < 15 || withBN < 8 || withDropout < 4 {
		t.Errorf("%d models, %d with BatchNorm, %d with Dropout: fixtures missing?", tested, withBN, withDropout)
	}
}

// checkInferenceForm: every BatchNormalization has one output (and
// training_mode 0 from opset 14), no Dropout is left, and every
// initializer and node output is read.
func checkInferenceForm(t *testing.T, m *ir.Model, bn int) {
	t.Helper()
	g := m.Graph
	if got := count(g, "BatchNormalization"); got != bn {
		t.Errorf("%d BatchNormalization left of %d", got, bn)
	}
	if count(g, "Dropout") != 0 {
		t.Error("a Dropout is left")
	}
	for _, n := range g.Nodes {
		if n.OpType == "BatchNormalization" {
			if len(n.Outputs) != 1 {
				t.Errorf("%s has %d outputs", n.Label(), len(n.Outputs))
			}
			if m.Opset("") >= 14 && (!n.HasAttr("training_mode") || n.Int("training_mode", 1) != 0) {
				t.Errorf("%s: training_mode is not 0", n.Label())
			}
		}
		for _, o := range n.Outputs {
			if o != nil && len(o.Uses) == 0 && !o.IsOutput && !(n.OpType == "LSTM" || n.OpType == "GRU" || n.OpType == "RNN" || n.OpType == "Split") {
				t.Errorf("%s: output %s is not read", n.Label(), o.Name)
			}
		}
	}
	for _, v := range g.Initializers {
		if len(v.Uses) == 0 {
			t.Errorf("initializer %s is not read", v.Name)
		}
	}
}

// build reads a model written as ONNX text-like node lists.
func build(t *testing.T, opset int64, inputs []string, inits []*ir.Tensor, nodes []bnode, outputs []string) *ir.Model {
	t.Helper()
	b := ir.NewBuilder("g", nil)
	for _, in := range inputs {
		b.Input(in, &ir.TypeInfo{Elem: ir.Float32, Shape: ir.StaticShape([]int64{2, 3})}, nil)
	}
	for _, tt := range inits {
		b.Initializer(tt)
	}
	for _, n := range nodes {
		b.Node(&ir.Node{Name: n.name, OpType: n.op, Attrs: n.attrs}, n.in, n.out)
	}
	for _, o := range outputs {
		b.Output(o, nil, nil)
	}
	g, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: opset}}, Graph: g}
}

type bnode struct {
	name, op string
	in, out  []string
	attrs    []*ir.Attribute
}

func bnParams() []*ir.Tensor {
	return []*ir.Tensor{
		ir.NewFloat32("s", []int64{3}, []float32{1, 2, 3}), ir.NewFloat32("b", []int64{3}, []float32{0, 1, 0}),
		ir.NewFloat32("m", []int64{3}, []float32{0.5, 0, -1}), ir.NewFloat32("v", []int64{3}, []float32{1, 4, 2}),
	}
}

func boolScalar(name string, v bool) *ir.Tensor {
	raw := []byte{0}
	if v {
		raw[0] = 1
	}
	return &ir.Tensor{Name: name, DType: ir.Bool, Raw: raw}
}

func attrInt(name string, v int64) *ir.Attribute {
	return &ir.Attribute{Name: name, Type: ir.AttrInt, I: v}
}

// The opset decides the form: 5 outputs at opset 9–13, training_mode at 14+,
// is_test below 7; Dropout's ratio/training_mode inputs at 12+.
func TestInferenceOpsets(t *testing.T) {
	cases := []struct {
		opset   int64
		bn      bnode
		wantBN  string // attribute that must be set, "" for none
		dropout bnode
	}{
		{6, bnode{"bn", "BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y", "rm", "rv", "sm", "sv"}, nil}, "is_test",
			bnode{"do", "Dropout", []string{"y"}, []string{"z", "mask"}, []*ir.Attribute{attrInt("is_test", 0)}}},
		{9, bnode{"bn", "BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y", "rm", "rv", "sm", "sv"}, nil}, "",
			bnode{"do", "Dropout", []string{"y"}, []string{"z", "mask"}, nil}},
		{13, bnode{"bn", "BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y", "rm", "rv", "sm", "sv"}, nil}, "",
			bnode{"do", "Dropout", []string{"y", "ratio", "train"}, []string{"z", "mask"}, nil}},
		{15, bnode{"bn", "BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y", "rm", "rv"}, []*ir.Attribute{attrInt("training_mode", 1)}}, "training_mode",
			bnode{"do", "Dropout", []string{"y", "ratio", "train"}, []string{"z", "mask"}, nil}},
	}
	for _, c := range cases {
		inits := bnParams()
		if c.opset >= 12 {
			inits = append(inits, ir.NewFloat32("ratio", nil, []float32{0.3}), boolScalar("train", true))
		}
		m := build(t, c.opset, []string{"x"}, inits, []bnode{c.bn, c.dropout, {"relu", "Relu", []string{"z"}, []string{"out"}, nil}}, []string{"out"})
		dropoutTrains := c.opset >= 12 || c.opset < 7
		if !export.IsTraining(m) {
			t.Errorf("opset %d: IsTraining false", c.opset)
		}
		inf, rep, err := export.Inference(m)
		if err != nil {
			t.Fatalf("opset %d: %v", c.opset, err)
		}
		g := inf.Graph
		bn := g.Nodes[0]
		if bn.OpType != "BatchNormalization" || len(bn.Outputs) != 1 {
			t.Fatalf("opset %d: first node %s with %d outputs", c.opset, bn.OpType, len(bn.Outputs))
		}
		switch c.wantBN {
		case "is_test":
			if bn.Int("is_test", 0) != 1 {
				t.Errorf("opset %d: is_test not 1", c.opset)
			}
		case "training_mode":
			if a := bn.Attr("training_mode"); a == nil || a.I != 0 {
				t.Errorf("opset %d: training_mode not 0", c.opset)
			}
		}
		wantNodes := []string{"BatchNormalization", "Relu"}
		if !dropoutTrains {
			// opset 7–11: Dropout has no mode; it is already inference.
			wantNodes = []string{"BatchNormalization", "Dropout", "Relu"}
		}
		var got []string
		for _, n := range g.Nodes {
			got = append(got, n.OpType)
		}
		if !slices.Equal(got, wantNodes) {
			t.Errorf("opset %d: nodes %v, want %v (%s)", c.opset, got, wantNodes, rep)
		}
		if dropoutTrains && g.Nodes[1].In(0).Name != "y" {
			t.Errorf("opset %d: Relu reads %s, want the Dropout's input y", c.opset, g.Nodes[1].In(0).Name)
		}
		var inits2 []string
		for _, v := range g.Initializers {
			inits2 = append(inits2, v.Name)
		}
		if !slices.Equal(inits2, []string{"s", "b", "m", "v"}) {
			t.Errorf("opset %d: initializers %v; ratio and training_mode should be gone with the Dropout", c.opset, inits2)
		}
		if export.IsTraining(inf) {
			t.Errorf("opset %d: still training after conversion", c.opset)
		}
	}
}

// A Dropout whose output is a graph output becomes an Identity keeping the
// name; one whose mask is read stays with training_mode omitted; Constant
// nodes and a graph input feeding only training_mode go; an unread
// initializer that was already unread stays (not ours to remove).
func TestInferenceDropoutForms(t *testing.T) {
	constRatio := &ir.Attribute{Name: "value", Type: ir.AttrTensor, T: ir.NewFloat32("", nil, []float32{0.5})}
	m := build(t, 13, []string{"x", "tm"}, []*ir.Tensor{ir.NewFloat32("unused", []int64{1}, []float32{7})},
		[]bnode{
			{"c", "Constant", nil, []string{"r"}, []*ir.Attribute{constRatio}},
			{"d1", "Dropout", []string{"x", "r", "tm"}, []string{"y1", "m1"}, nil},
			{"d2", "Dropout", []string{"y1", "r", "tm"}, []string{"y2", "m2"}, nil},
			{"cast", "Cast", []string{"m2"}, []string{"mf"}, []*ir.Attribute{attrInt("to", 1)}},
			{"add", "Add", []string{"y2", "mf"}, []string{"sum"}, nil},
			{"d3", "Dropout", []string{"sum", "r", "tm"}, []string{"out"}, nil},
		}, []string{"out"})
	inf, rep, err := export.Inference(m)
	if err != nil {
		t.Fatal(err)
	}
	g := inf.Graph
	var ops []string
	for _, n := range g.Nodes {
		ops = append(ops, n.Name+":"+n.OpType)
	}
	want := []string{"c:Constant", "d2:Dropout", "cast:Cast", "add:Add", "d3:Identity"}
	if !slices.Equal(ops, want) {
		t.Fatalf("nodes %v, want %v", ops, want)
	}
	if d2 := g.Nodes[1]; len(d2.Inputs) != 2 || d2.In(0).Name != "x" {
		t.Errorf("kept Dropout reads %v; want x and the ratio, training_mode omitted", d2.Inputs)
	}
	if id := g.Nodes[4]; id.In(0).Name != "sum" || id.Out(0).Name != "out" || !id.Out(0).IsOutput {
		t.Error("the Identity does not carry the graph output")
	}
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "x" {
		t.Errorf("graph inputs %v; tm fed only training_mode and should go", names(g.Inputs))
	}
	if len(g.Initializers) != 1 || g.Initializers[0].Name != "unused" {
		t.Errorf("initializers %v; the already-unread one should stay", names(g.Initializers))
	}
	if len(rep.Dropouts) != 2 || len(rep.DropoutsKept) != 1 || !slices.Equal(rep.Inputs, []string{"tm"}) {
		t.Errorf("report %+v", rep)
	}
	if s := rep.String(); !strings.Contains(s, "2 Dropouts removed") || !strings.Contains(s, "1 Dropout switched to inference mode") {
		t.Errorf("report text %q", s)
	}
}

func names(vs []*ir.Value) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

// A running-statistics output the graph reads has no inference form: the
// error names the node and the value.
func TestInferenceRefusesReadStatistics(t *testing.T) {
	m := build(t, 13, []string{"x"}, bnParams(),
		[]bnode{{"bn1", "BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y", "rm", "rv", "sm", "sv"}, nil}},
		[]string{"y", "rm"})
	_, _, err := export.Inference(m)
	if err == nil || !strings.Contains(err.Error(), "bn1") || !strings.Contains(err.Error(), `running mean output "rm"`) {
		t.Fatalf("error %v", err)
	}
}

// A model without training constructs converts to itself, labelled; Mark
// labels a training graph and clears the conversion record.
func TestNothingToConvertAndMark(t *testing.T) {
	m, err := onnxio.ReadFile(filepath.Join(models, "mlp_digits", "train.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	inf, rep, err := export.Inference(m)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changed() || !strings.HasPrefix(rep.String(), "nothing to convert") || len(inf.Graph.Nodes) != len(m.Graph.Nodes) {
		t.Errorf("report %q, %d nodes of %d", rep, len(inf.Graph.Nodes), len(m.Graph.Nodes))
	}
	if export.Kind(inf) != export.KindInference || export.Converted(inf) != "" {
		t.Errorf("metadata %v", inf.Metadata)
	}
	export.Mark(inf, export.KindTraining)
	if export.Kind(inf) != export.KindTraining || len(inf.Metadata) != len(m.Metadata)+1 {
		t.Errorf("metadata after Mark %v", inf.Metadata)
	}
}

// Control-flow bodies are converted too: a Dropout inside an If branch
// whose output is the branch's output becomes an Identity, and the ratio
// and training_mode it read from the enclosing graph go from there.
func TestInferenceSubgraph(t *testing.T) {
	outer := ir.NewBuilder("main", nil)
	outer.Input("x", &ir.TypeInfo{Elem: ir.Float32, Shape: ir.StaticShape([]int64{2, 3})}, nil)
	outer.Initializer(boolScalar("cond", true))
	outer.Initializer(ir.NewFloat32("ratio", nil, []float32{0.5}))
	outer.Initializer(boolScalar("train", true))
	then := ir.NewBuilder("then", outer)
	then.Node(&ir.Node{Name: "drop", OpType: "Dropout"}, []string{"x", "ratio", "train"}, []string{"y_then", "mask"})
	then.Output("y_then", nil, nil)
	els := ir.NewBuilder("else", outer)
	els.Node(&ir.Node{Name: "id", OpType: "Identity"}, []string{"x"}, []string{"y_else"})
	els.Output("y_else", nil, nil)
	outer.Node(&ir.Node{Name: "if", OpType: "If", Attrs: []*ir.Attribute{
		{Name: "then_branch", Type: ir.AttrGraph, G: then.Graph()},
		{Name: "else_branch", Type: ir.AttrGraph, G: els.Graph()},
	}}, []string{"cond"}, []string{"y"})
	outer.Output("y", nil, nil)
	g, err := outer.Finish()
	if err != nil {
		t.Fatal(err)
	}
	m := &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: 13}}, Graph: g}
	if !export.IsTraining(m) {
		t.Fatal("IsTraining misses the Dropout in the If branch")
	}
	inf, rep, err := export.Inference(m)
	if err != nil {
		t.Fatal(err)
	}
	ifn := inf.Graph.Nodes[0]
	tb := ifn.Attr("then_branch").G
	if len(tb.Nodes) != 1 || tb.Nodes[0].OpType != "Identity" || tb.Nodes[0].In(0).Name != "x" || tb.Outputs[0].Name != "y_then" {
		t.Errorf("then branch after conversion: %d nodes, first %s", len(tb.Nodes), tb.Nodes[0].OpType)
	}
	if tb.Parent != inf.Graph || ifn.Attr("else_branch").G.Parent != inf.Graph {
		t.Error("the converted branches do not belong to the converted graph")
	}
	if got := names(inf.Graph.Initializers); !slices.Equal(got, []string{"cond"}) {
		t.Errorf("initializers %v; ratio and train fed only the removed Dropout", got)
	}
	if export.IsTraining(inf) || len(rep.Dropouts) != 1 {
		t.Errorf("still training after conversion, report %+v", rep)
	}
	// The original is untouched.
	if then.Graph().Nodes[0].OpType != "Dropout" || len(g.Initializers) != 3 {
		t.Error("Inference modified its argument")
	}
}

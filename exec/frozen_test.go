package exec

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// frozenRun compiles name's training export with opts and runs one Train
// step (forward, backward with the golden loss weights).
func frozenRun(t *testing.T, name string, opts Options) (*Program, []float32) {
	t.Helper()
	g := loadGolden(t, name)
	m, err := onnxio.ReadFile(filepath.Join(g.dir, "train.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	x := g.get(t, "input")
	in := map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}
	out, err := p.Run(Train, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Backward(map[string]*Tensor{"output": {DType: ir.Float32, Shape: out["output"].Shape, F: g.f32(t, "loss_weight")}}); err != nil {
		t.Fatal(err)
	}
	return p, slices.Clone(out["output"].F)
}

// Freezing a parameter removes its gradient (nil Grad, so optimizers keep
// no state for it) and changes nothing else: with batch statistics kept
// (TrainFrozenBatchNorm), the outputs and the gradients of the parameters
// still trained are bit-identical to an unfrozen run's, on conv/BN,
// residual, depthwise, LSTM and attention models. Freezing everything
// before the last layers also stops Backward before the frozen part: the
// activations there get no gradient at all.
func TestFrozenParamsSkipGradients(t *testing.T) {
	for _, name := range []string{"vgg_bn", "resnet_narrow", "mobilenet_block", "lstm_classifier", "transformer_encoder"} {
		t.Run(name, func(t *testing.T) {
			full, outFull := frozenRun(t, name, Options{Seed: 3, OverrideDropout: true})
			params := full.Params()
			// Freeze the first two thirds of the parameters (the backbone).
			frozen := map[string]bool{}
			for _, q := range params[:len(params)*2/3] {
				frozen[q.Name] = true
			}
			part, outPart := frozenRun(t, name, Options{Seed: 3, OverrideDropout: true, Frozen: frozen, TrainFrozenBatchNorm: true})
			if !sameBits(outFull, outPart) {
				t.Fatalf("outputs differ with frozen parameters")
			}
			if len(part.Params()) != len(params) {
				t.Fatalf("Params() has %d entries, want %d (frozen ones stay listed)", len(part.Params()), len(params))
			}
			for i, q := range part.Params() {
				if frozen[q.Name] {
					if q.Grad != nil {
						t.Errorf("frozen %s has a gradient buffer", q.Name)
					}
					if !sameBits(q.Value, params[i].Value) {
						t.Errorf("frozen %s: value changed", q.Name)
					}
					continue
				}
				if !sameBits(q.Grad, params[i].Grad) {
					t.Errorf("%s: gradient differs from the unfrozen run's", q.Name)
				}
			}
			// The input and the first node's outputs depend only on frozen
			// parameters: Backward must not have reached them.
			if g := part.Grad("input"); g != nil {
				t.Errorf("the input got a gradient")
			}
			first := part.e.order[0]
			for _, v := range first.Outputs {
				if v != nil && part.Grad(v.Name) != nil {
					t.Errorf("%s (output of the first node, %s) got a gradient behind the frozen backbone", v.Name, first.OpType)
				}
			}
		})
	}
}

// A BatchNormalization whose scale and bias are frozen runs as in eval
// mode (FrozenBatchNorm2d): with every parameter frozen and dropout off, a
// Train-mode Run computes exactly the Eval-mode output and leaves every
// running statistic bit-identical; with TrainFrozenBatchNorm the running
// statistics move as PyTorch's train mode moves them.
func TestFrozenBatchNormKeepsStatistics(t *testing.T) {
	for _, name := range []string{"vgg_bn", "resnet_narrow", "mobilenet_block"} {
		t.Run(name, func(t *testing.T) {
			g := loadGolden(t, name)
			m, err := onnxio.ReadFile(filepath.Join(g.dir, "train.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			all := map[string]bool{}
			for _, v := range m.Graph.Initializers {
				if v.Role() == ir.RoleParameter {
					all[v.Name] = true
				}
			}
			x := g.get(t, "input")
			in := map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}
			for _, trainBN := range []bool{false, true} {
				p, err := Compile(m, Options{OverrideDropout: true, Frozen: all, TrainFrozenBatchNorm: trainBN})
				if err != nil {
					t.Fatal(err)
				}
				var before [][]float32
				for _, b := range p.Buffers() {
					before = append(before, slices.Clone(b.Value))
				}
				if len(before) == 0 {
					t.Fatal("fixture has no BatchNorm buffers")
				}
				ev, err := p.Run(Eval, in)
				if err != nil {
					t.Fatal(err)
				}
				want := slices.Clone(ev["output"].F)
				tr, err := p.Run(Train, in)
				if err != nil {
					t.Fatal(err)
				}
				changed := 0
				for i, b := range p.Buffers() {
					if !sameBits(b.Value, before[i]) && !strings.HasSuffix(b.Name, "num_batches_tracked") {
						changed++
					}
				}
				if !trainBN {
					if !sameBits(tr["output"].F, want) {
						t.Errorf("frozen BatchNorm: Train-mode output differs from Eval-mode output")
					}
					if changed != 0 {
						t.Errorf("frozen BatchNorm: %d running statistics changed", changed)
					}
				} else if changed == 0 || sameBits(tr["output"].F, want) {
					t.Errorf("TrainFrozenBatchNorm: batch statistics not used (%d statistics changed)", changed)
				}
				if err := p.Backward(map[string]*Tensor{"output": {DType: ir.Float32, Shape: tr["output"].Shape, F: g.f32(t, "loss_weight")}}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

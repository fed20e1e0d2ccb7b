package exec

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// Parity with PyTorch on every fixture of testdata/models: eval outputs,
// train outputs (dropout overridden to 0, BatchNorm on batch statistics),
// running statistics after one train forward, the loss, and the gradients
// of L = Σ(train_output·loss_weight)/batch for every parameter and the
// input.
//
// Errors are relative per tensor: max|ours − golden| / max|golden| (relErr).
//
// Tolerances. PyTorch's float32 golden values are themselves only as exact
// as float32 arithmetic allows; golden.json records per array how far they
// are from a float64 replay (float32_error). Our float32 result carries an
// error of the same order with a different summation order, so we accept
// max(base, 10·float32_error): base is the target (1e-5 for
// outputs and running statistics, 1e-4 for gradients) and the factor 10
// covers the two independent float32 roundings (ours and PyTorch's) with
// room for reduction-order differences. This matters only where the
// fixture report says so: resnet18 (train output 1.1e-5, grads 3.7e-5)
// and mobilenet_v2 (train output 3.3e-4, grads 2e-3 → ~1e-2 as the report
// recommends).
// Gradients listed in negligible_grads are zero in exact arithmetic (a bias
// feeding a train-mode BatchNorm) or vanished; PyTorch's values there are
// rounding noise, so they are compared with an absolute tolerance of the
// gradient tolerance times the largest parameter gradient of the model.

// fixtureNames lists the model directories.
func fixtureNames(t testing.TB) []string {
	ents, err := os.ReadDir(modelsDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

type parity struct {
	worstOut, worstStats, worstGrad, worstInGrad float64
	gradName                                     string
}

var parityLog = map[string]*parity{}

func TestFixtures(t *testing.T) {
	names := fixtureNames(t)
	if len(names) < 18 {
		t.Fatalf("found %d fixtures in %s, want 18", len(names), modelsDir)
	}
	for _, name := range names {
		g := loadGolden(t, name)
		for _, f := range g.meta.Files {
			if !strings.Contains(f, ".onnx") {
				continue
			}
			t.Run(name+"/"+f, func(t *testing.T) { checkFixture(t, g, f) })
		}
	}
	var keys []string
	for k := range parityLog {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := parityLog[k]
		t.Logf("%-44s output %.2e  running %.2e  grad %.2e (%s)  grad_input %.2e", k, p.worstOut, p.worstStats, p.worstGrad, p.gradName, p.worstInGrad)
	}
}

func checkFixture(t *testing.T, g *golden, file string) {
	m, err := onnxio.ReadFile(filepath.Join(g.dir, file))
	if err != nil {
		t.Fatal(err)
	}
	// dropout off: the golden train_output is defined with p = 0
	p, err := Compile(m, Options{OverrideDropout: true, DropoutRatio: 0, InputGrads: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec := &parity{}
	parityLog[g.meta.Model+"/"+file] = rec
	x := g.get(t, "input")
	in := map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}
	tolOut := func(key string) float64 { return math.Max(1e-5, 10*g.meta.f32err(key)) }

	if strings.HasPrefix(file, "eval") {
		out, err := p.Run(Eval, in)
		if err != nil {
			t.Fatal(err)
		}
		want := g.get(t, "eval_output")
		got := out["output"]
		if !sameShape(got.Shape, want.shape) {
			t.Fatalf("eval output shape %v, want %v", got.Shape, want.shape)
		}
		rec.worstOut = relErr(got.F, want.f)
		if tol := tolOut("eval_output"); rec.worstOut > tol {
			t.Errorf("eval_output: relative error %.3g > %.3g", rec.worstOut, tol)
		}
		return
	}

	// Train mode: output, running statistics, gradients.
	before := map[string][]float32{}
	for _, b := range p.Buffers() {
		before[b.Name] = append([]float32(nil), b.Value...)
	}
	out, err := p.Run(Train, in)
	if err != nil {
		t.Fatal(err)
	}
	want := g.get(t, "train_output")
	got := out["output"]
	rec.worstOut = relErr(got.F, want.f)
	if tol := tolOut("train_output"); rec.worstOut > tol {
		t.Errorf("train_output: relative error %.3g > %.3g", rec.worstOut, tol)
	}
	if len(p.Buffers()) != len(g.meta.BufferNames) {
		t.Errorf("%d buffers, want %d (%v)", len(p.Buffers()), len(g.meta.BufferNames), g.meta.BufferNames)
	}
	// running statistics are O(0.1..1) values; golden.json gives their
	// float32 error as an absolute difference, so compare absolutely
	statTol := math.Max(1e-5, 10*g.meta.f32err("running_stats_abs"))
	for _, b := range p.Buffers() {
		i := strings.LastIndex(b.Name, ".")
		key := "train_" + b.Name[i+1:] + ":" + b.Name[:i]
		w := g.get(t, key)
		e := absErr(b.Value, w.f)
		rec.worstStats = math.Max(rec.worstStats, e)
		if e > statTol {
			t.Errorf("%s after one train step: error %.3g > %.3g", b.Name, e, statTol)
		}
		if relErr(before[b.Name], w.f) < 1e-3 {
			t.Errorf("%s did not change in a train step", b.Name)
		}
	}

	// loss and its gradient: L = Σ(out·w)/batch → dL/dout = w/batch
	lw := g.get(t, "loss_weight")
	batch := float64(x.shape[0])
	// each term out·w carries the output's relative error, so the loss is
	// compared on the scale Σ|out·w|/batch (the loss itself may cancel)
	var loss, scaleL float64
	dout := make([]float32, len(lw.f))
	for i, w := range lw.f {
		loss += float64(got.F[i]) * w / batch
		scaleL += math.Abs(float64(got.F[i])*w) / batch
		dout[i] = float32(w / batch)
	}
	if wantLoss := g.get(t, "loss").f[0]; math.Abs(loss-wantLoss) > tolOut("train_output")*scaleL {
		t.Errorf("loss %.8g, want %.8g", loss, wantLoss)
	}
	if err := p.Backward(map[string]*Tensor{"output": {DType: ir.Float32, Shape: got.Shape, F: dout}}); err != nil {
		t.Fatal(err)
	}
	if len(p.Params()) != len(g.meta.ParamNames) {
		t.Errorf("%d trainable parameters, want %d", len(p.Params()), len(g.meta.ParamNames))
	}
	// grad_params in golden.json is relative to the model's LARGEST
	// gradient, so the golden value of a parameter with smaller gradients
	// is only good to 10·grad_params·scale absolutely: a tensor passes when
	// its error is within 1e-4 of its own scale or within that bound.
	gradTol := 1e-4
	goldAbs := 10 * g.meta.f32err("grad_params")
	negl := map[string]bool{}
	for _, n := range g.meta.NegligibleGrads {
		negl[n] = true
	}
	// the largest gradient of the model sets the scale for negligible ones
	var scale float64
	for _, q := range p.Params() {
		if a, ok := g.arrays["grad:"+q.Name]; ok {
			scale = math.Max(scale, maxAbs(a.f))
		} else if a, ok := g.arrays["grad_head:"+q.Name]; ok {
			scale = math.Max(scale, maxAbs(a.f))
		}
	}
	for _, q := range p.Params() {
		e, what, own := gradErr(t, g, q, negl[q.Name], scale)
		if negl[q.Name] {
			if tol := math.Max(gradTol, goldAbs); e > tol {
				t.Errorf("grad %s (negligible): |error| %.3g > %.3g × largest gradient", q.Name, e, tol)
			}
			continue
		}
		if e > rec.worstGrad {
			rec.worstGrad, rec.gradName = e, q.Name+what
		}
		if tol := math.Max(gradTol, goldAbs*scale/own); e > tol {
			t.Errorf("grad %s%s: relative error %.3g > %.3g", q.Name, what, e, tol)
		}
	}
	gi := p.InputGrad("input")
	if gi == nil {
		t.Fatal("no input gradient")
	}
	rec.worstInGrad = relErr(gi.F, g.get(t, "grad_input").f)
	if tol := math.Max(1e-4, 10*g.meta.f32err("grad_input")); rec.worstInGrad > tol {
		t.Errorf("grad_input: relative error %.3g > %.3g", rec.worstInGrad, tol)
	}
}

// gradErr compares one parameter gradient with the golden one (full, or
// head + sum + sum of squares for large tensors).
// It returns the error, which part it comes from, and the tensor's own
// scale (max |golden|).
func gradErr(t *testing.T, g *golden, q *Param, negligible bool, scale float64) (float64, string, float64) {
	if a, ok := g.arrays["grad:"+q.Name]; ok {
		if len(a.f) != len(q.Grad) {
			t.Fatalf("grad %s: %d values, golden has %d", q.Name, len(q.Grad), len(a.f))
		}
		if negligible {
			return absErr(q.Grad, a.f) / scale, "", scale
		}
		return relErr(q.Grad, a.f), "", maxAbs(a.f)
	}
	head, ok := g.arrays["grad_head:"+q.Name]
	if !ok {
		t.Fatalf("golden.npz has no gradient for %s", q.Name)
	}
	if negligible {
		return absErr(q.Grad[:len(head.f)], head.f) / scale, " (head)", scale
	}
	e := relErr(q.Grad[:len(head.f)], head.f)
	var s, ss float64
	for _, v := range q.Grad {
		s += float64(v)
		ss += float64(v) * float64(v)
	}
	ws, wss := g.get(t, "grad_sum:"+q.Name).f[0], g.get(t, "grad_sumsq:"+q.Name).f[0]
	// |Σa − Σb| on the scale √(n·Σb²) ≥ |Σb| (Cauchy–Schwarz); Σa² relative
	// error is twice the elementwise one
	eSum := math.Abs(s-ws) / math.Sqrt(float64(len(q.Grad))*wss)
	eSq := math.Abs(ss-wss) / wss / 2
	what := " (head)"
	if eSum > e {
		e, what = eSum, " (sum)"
	}
	if eSq > e {
		e, what = eSq, " (sum of squares)"
	}
	return e, what, maxAbs(head.f)
}

func absErr(a []float32, b []float64) float64 {
	var d float64
	for i, v := range b {
		d = math.Max(d, math.Abs(float64(a[i])-v))
	}
	return d
}

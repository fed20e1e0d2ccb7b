package loss

import (
	"fmt"
	"math"
)

// Target is one batch's targets: either Labels (one class index per row) or
// Values (n·k float targets, the output's shape).
type Target struct {
	Labels []int64
	Values []float32
	// PerSample is the number of labels per sample (0 or 1: one). With
	// L > 1 labels per sample the output is [n, C, d1, …] with d1·… = L and
	// cross-entropy runs over the class axis C at every position, as
	// PyTorch's nn.CrossEntropyLoss does for K-dimensional inputs.
	PerSample int
}

// per returns the labels per sample.
func (t Target) per() int { return max(t.PerSample, 1) }

// Func is a criterion with mean reduction.
type Func interface {
	// Name is the --loss name: "ce", "bce", "mse" or "l1".
	Name() string
	// Eval returns the loss of out (n rows of k) against t and writes
	// dLoss/dout into grad (len n·k).
	Eval(grad, out []float32, n, k int, t Target) float64
	// Correct counts correctly classified rows (or elements, for
	// multi-label bce) and how many were counted; counted is 0 when
	// accuracy means nothing (float regression targets).
	Correct(out []float32, n, k int, t Target) (correct, counted int)
}

// Names lists the criteria ByName knows.
var Names = []string{"ce", "bce", "mse", "l1"}

// ByName returns the criterion for a --loss value.
func ByName(name string) (Func, error) {
	switch name {
	case "ce":
		return CrossEntropy{Ignore: true, IgnoreIndex: DefaultIgnoreIndex}, nil
	case "bce":
		return BCEWithLogits{}, nil
	case "mse":
		return MSE{}, nil
	case "l1":
		return L1{}, nil
	}
	return nil, fmt.Errorf("unknown loss %q (want one of ce, bce, mse, l1)", name)
}

// target returns the float target of element (i, j). Integer labels mean
// the label itself for a one-column output and a one-hot row otherwise.
func (t Target) target(i, j, k int) float64 {
	if t.Values != nil {
		return float64(t.Values[i*k+j])
	}
	if k == 1 {
		return float64(t.Labels[i])
	}
	if t.Labels[i] == int64(j) {
		return 1
	}
	return 0
}

func argmax(row []float32) int {
	best := 0
	for j, v := range row {
		if v > row[best] || (math.IsNaN(float64(v)) && !math.IsNaN(float64(row[best]))) {
			best = j
		}
	}
	return best
}

// DefaultIgnoreIndex is nn.CrossEntropyLoss's default ignore_index.
const DefaultIgnoreIndex = -100

// CrossEntropy is torch.nn.CrossEntropyLoss: log-softmax over the classes
// then NLL, mean over the counted labels. Labels are class indices (one per
// sample, or Target.PerSample per sample for [n, C, d1, …] outputs);
// Values are class probabilities (PyTorch's soft targets), one row per
// sample. With Ignore, labels equal to IgnoreIndex contribute neither loss
// nor gradient and are not counted in the mean (PyTorch's ignore_index; a
// batch whose labels are all ignored has loss 0 here, NaN in PyTorch).
type CrossEntropy struct {
	Ignore      bool
	IgnoreIndex int64
}

func (CrossEntropy) Name() string { return "ce" }

// Eval: ℓ = logΣ_c e^{x_c} − Σ_c t_c·x_c (Σ_c t_c = 1 for labels);
// ∂ℓ/∂x_c = (softmax_c·Σ_m t_m − t_c)/count.
func (ce CrossEntropy) Eval(grad, out []float32, n, k int, t Target) float64 {
	var total float64
	if t.Values == nil {
		L := t.per()
		C := k / L
		count := 0
		for _, y := range t.Labels[:n*L] {
			if !ce.Ignore || y != ce.IgnoreIndex {
				count++
			}
		}
		inv := 0.0
		if count > 0 {
			inv = 1 / float64(count)
		}
		for i := 0; i < n; i++ {
			base := out[i*k : (i+1)*k]
			g := grad[i*k : (i+1)*k]
			for p := 0; p < L; p++ {
				y := t.Labels[i*L+p]
				if ce.Ignore && y == ce.IgnoreIndex {
					for c := 0; c < C; c++ {
						g[c*L+p] = 0
					}
					continue
				}
				mx := math.Inf(-1)
				for c := 0; c < C; c++ {
					mx = math.Max(mx, float64(base[c*L+p]))
				}
				var se float64
				for c := 0; c < C; c++ {
					se += math.Exp(float64(base[c*L+p]) - mx)
				}
				lse := mx + math.Log(se)
				total += lse - float64(base[int(y)*L+p])
				for c := 0; c < C; c++ {
					v := math.Exp(float64(base[c*L+p]) - lse)
					if c == int(y) {
						v--
					}
					g[c*L+p] = float32(v * inv)
				}
			}
		}
		return total * inv
	}
	inv := 1 / float64(n)
	for i := 0; i < n; i++ {
		row := out[i*k : (i+1)*k]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var se float64
		for _, v := range row {
			se += math.Exp(float64(v) - mx)
		}
		lse := mx + math.Log(se)
		tr := t.Values[i*k : (i+1)*k]
		var ts float64
		for j, v := range row {
			total += float64(tr[j]) * (lse - float64(v))
			ts += float64(tr[j])
		}
		for j, v := range row {
			grad[i*k+j] = float32((math.Exp(float64(v)-lse)*ts - float64(tr[j])) * inv)
		}
	}
	return total * inv
}

// Correct: the argmax over the classes equals the label (or the target's
// argmax), counted per label (per pixel for [n, C, H, W] outputs), ignored
// labels left out.
func (ce CrossEntropy) Correct(out []float32, n, k int, t Target) (int, int) {
	c, counted := 0, 0
	if t.Values != nil {
		for i := 0; i < n; i++ {
			if argmax(out[i*k:(i+1)*k]) == argmax(t.Values[i*k:(i+1)*k]) {
				c++
			}
		}
		return c, n
	}
	L := t.per()
	C := k / L
	for i := 0; i < n; i++ {
		base := out[i*k : (i+1)*k]
		for p := 0; p < L; p++ {
			y := t.Labels[i*L+p]
			if ce.Ignore && y == ce.IgnoreIndex {
				continue
			}
			counted++
			best := 0
			for j := 1; j < C; j++ {
				v, b := base[j*L+p], base[best*L+p]
				if v > b || (math.IsNaN(float64(v)) && !math.IsNaN(float64(b))) {
					best = j
				}
			}
			if int64(best) == y {
				c++
			}
		}
	}
	return c, counted
}

// BCEWithLogits is torch.nn.BCEWithLogitsLoss in its stable form
// max(x,0) − x·y + log(1 + e^{−|x|}), mean over all n·k elements.
type BCEWithLogits struct{}

func (BCEWithLogits) Name() string { return "bce" }

// Eval: ∂ℓ/∂x = (σ(x) − y)/(n·k).
func (BCEWithLogits) Eval(grad, out []float32, n, k int, t Target) float64 {
	var total float64
	inv := 1 / float64(n*k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			x := float64(out[i*k+j])
			y := t.target(i, j, k)
			total += math.Max(x, 0) - x*y + math.Log1p(math.Exp(-math.Abs(x)))
			var s float64
			if x >= 0 {
				s = 1 / (1 + math.Exp(-x))
			} else {
				e := math.Exp(x)
				s = e / (1 + e)
			}
			grad[i*k+j] = float32((s - y) * inv)
		}
	}
	return total * inv
}

// Correct: with class labels and several outputs, the argmax; otherwise
// each element's sign against a 0.5 threshold on the target.
func (BCEWithLogits) Correct(out []float32, n, k int, t Target) (int, int) {
	if t.Values == nil && k > 1 {
		return CrossEntropy{}.Correct(out, n, k, t)
	}
	c := 0
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			if (out[i*k+j] > 0) == (t.target(i, j, k) >= 0.5) {
				c++
			}
		}
	}
	return c, n * k
}

// MSE is torch.nn.MSELoss: mean of (x − y)² over all elements.
type MSE struct{}

func (MSE) Name() string { return "mse" }

// Eval: ∂ℓ/∂x = 2(x − y)/(n·k).
func (MSE) Eval(grad, out []float32, n, k int, t Target) float64 {
	var total float64
	inv := 1 / float64(n*k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			d := float64(out[i*k+j]) - t.target(i, j, k)
			total += d * d
			grad[i*k+j] = float32(2 * d * inv)
		}
	}
	return total * inv
}

func (MSE) Correct(out []float32, n, k int, t Target) (int, int) {
	return regressionCorrect(out, n, k, t)
}

// L1 is torch.nn.L1Loss: mean of |x − y| over all elements.
type L1 struct{}

func (L1) Name() string { return "l1" }

// Eval: ∂ℓ/∂x = sign(x − y)/(n·k), with sign(0) = 0 as in PyTorch.
func (L1) Eval(grad, out []float32, n, k int, t Target) float64 {
	var total float64
	inv := 1 / float64(n*k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			d := float64(out[i*k+j]) - t.target(i, j, k)
			total += math.Abs(d)
			var s float64
			if d > 0 {
				s = 1
			} else if d < 0 {
				s = -1
			}
			grad[i*k+j] = float32(s * inv)
		}
	}
	return total * inv
}

func (L1) Correct(out []float32, n, k int, t Target) (int, int) {
	return regressionCorrect(out, n, k, t)
}

// regressionCorrect: integer labels regressed by a one-column model count
// when the rounded output equals the label; one-hot labels by argmax;
// float targets have no accuracy.
func regressionCorrect(out []float32, n, k int, t Target) (int, int) {
	if t.Values != nil {
		return 0, 0
	}
	if k > 1 {
		return CrossEntropy{}.Correct(out, n, k, t)
	}
	c := 0
	for i := 0; i < n; i++ {
		if math.Round(float64(out[i])) == float64(t.Labels[i]) {
			c++
		}
	}
	return c, n
}

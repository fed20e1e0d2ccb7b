package doctor

import (
	"math"
	"strings"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
)

// layer is a weight tensor (≥ 2 dimensions) and the bias next to it,
// named by their common prefix ("fc1", "layers.4").
type layer struct {
	name         string
	weight, bias *exec.Param
}

func prefix(name string) string {
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		return name[:i]
	}
	return name
}

// findLayers lists the trained weight layers in parameter order
// (PyTorch's named_parameters order: input to output).
func findLayers(params []*exec.Param) []*layer {
	var out []*layer
	by := map[string]*layer{}
	for _, p := range params {
		if len(p.Shape) >= 2 && p.Grad != nil { // frozen parameters have no gradient
			l := &layer{name: prefix(p.Name), weight: p}
			out = append(out, l)
			by[l.name] = l
		}
	}
	for _, p := range params {
		if len(p.Shape) == 1 {
			if l := by[prefix(p.Name)]; l != nil && l.bias == nil {
				l.bias = p
			}
		}
	}
	return out
}

// actSite is a ReLU, Sigmoid or Tanh node whose statistics are sampled,
// with the parameters that produce its input (for re-initialization).
type actSite struct {
	node  string // node name, or the output name when unnamed
	op    string // Relu, Sigmoid, Tanh
	value string // sampled value: ReLU output, sigmoid/tanh input
	layer string // display name: the producing layer's prefix, else node

	// producer of the pre-activation: W rows/columns per unit
	w, b     *exec.Param
	unitAxis int  // axis of W that indexes output units
	bn       bool // a BatchNormalization sits between (w, b are its scale and bias)

	runs  int     // consecutive samples with the condition
	last  float64 // last sampled fraction (dead units or saturated inputs)
	units int
	batch int
}

// findActivations finds the activation nodes and, where the graph makes
// it clear (Gemm, Conv, MatMul+Add, optionally through BatchNorm), the
// parameters feeding them.
func findActivations(m *ir.Model, params []*exec.Param) []*actSite {
	by := map[string]*exec.Param{}
	for _, p := range params {
		by[p.Name] = p
	}
	var out []*actSite
	for _, n := range m.Graph.Nodes {
		if n.OpType != "Relu" && n.OpType != "Sigmoid" && n.OpType != "Tanh" {
			continue
		}
		if len(n.Inputs) == 0 || n.Inputs[0] == nil || len(n.Outputs) == 0 || n.Outputs[0] == nil {
			continue
		}
		a := &actSite{node: n.Name, op: n.OpType, value: n.Inputs[0].Name}
		if a.node == "" {
			a.node = n.Outputs[0].Name
		}
		if n.OpType == "Relu" {
			a.value = n.Outputs[0].Name
		}
		a.layer = a.node
		feed(a, n.Inputs[0], by)
		out = append(out, a)
	}
	return out
}

func param(v *ir.Value, by map[string]*exec.Param) *exec.Param {
	if v == nil {
		return nil
	}
	return by[v.Name]
}

// feed finds the parameters producing v.
func feed(a *actSite, v *ir.Value, by map[string]*exec.Param) {
	p := v.Producer
	if p == nil {
		return
	}
	in := func(i int) *ir.Value {
		if i < len(p.Inputs) {
			return p.Inputs[i]
		}
		return nil
	}
	switch p.OpType {
	case "Gemm":
		a.w, a.b = param(in(1), by), param(in(2), by)
		a.unitAxis = 0
		if p.Int("transB", 0) == 0 {
			a.unitAxis = 1
		}
	case "Conv":
		a.w, a.b = param(in(1), by), param(in(2), by)
		a.unitAxis = 0
	case "Add":
		for i := range 2 {
			if b := param(in(i), by); b != nil && len(b.Shape) == 1 {
				if mm := in(1 - i); mm != nil && mm.Producer != nil && mm.Producer.OpType == "MatMul" && len(mm.Producer.Inputs) == 2 {
					a.w, a.b, a.unitAxis = param(mm.Producer.Inputs[1], by), b, 1
				}
			}
		}
	case "MatMul":
		a.w, a.unitAxis = param(in(1), by), 1
	case "BatchNormalization":
		a.w, a.b, a.bn = param(in(1), by), param(in(2), by), true
	}
	if a.w != nil {
		a.layer = prefix(a.w.Name)
	}
	if a.w != nil && (len(a.w.Shape) <= a.unitAxis || a.bn && len(a.w.Shape) != 1) {
		a.w, a.b = nil, nil
	}
}

// deadUnits returns the fraction of units (axis 1: features or channels)
// that are ≤ 0 for every sample and position of t, a ReLU output.
func deadUnits(t *exec.Tensor) (frac float64, units int) {
	if t == nil || len(t.Shape) < 2 || len(t.F) == 0 {
		return math.NaN(), 0
	}
	n, c := t.Shape[0], t.Shape[1]
	inner := len(t.F) / (n * c)
	alive := make([]bool, c)
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			if alive[j] {
				continue
			}
			row := t.F[(i*c+j)*inner : (i*c+j+1)*inner]
			for _, v := range row {
				if v > 0 {
					alive[j] = true
					break
				}
			}
		}
	}
	dead := 0
	for _, a := range alive {
		if !a {
			dead++
		}
	}
	return float64(dead) / float64(c), c
}

// deadMask returns which units of a ReLU output are dead.
func deadMask(t *exec.Tensor) []bool {
	n, c := t.Shape[0], t.Shape[1]
	inner := len(t.F) / (n * c)
	dead := make([]bool, c)
	for j := range dead {
		dead[j] = true
	}
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			if !dead[j] {
				continue
			}
			for _, v := range t.F[(i*c+j)*inner : (i*c+j+1)*inner] {
				if v > 0 {
					dead[j] = false
					break
				}
			}
		}
	}
	return dead
}

// saturated returns the fraction of pre-activations with |x| ≥ limit.
func saturated(t *exec.Tensor, limit float32) float64 {
	if t == nil || len(t.F) == 0 {
		return math.NaN()
	}
	n := 0
	for _, v := range t.F {
		if v >= limit || v <= -limit {
			n++
		}
	}
	return float64(n) / float64(len(t.F))
}

// satLimit: σ′(5) = 0.0066 is 2.7 % of σ′(0) = 0.25; tanh′(x) = sech²(x)
// falls to the same 2.7 % of its peak at |x| = 2.6.
func satLimit(op string) float32 {
	if op == "Tanh" {
		return 2.6
	}
	return 5
}

func norm(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

func diffNorm(a, b []float32) float64 {
	s := 0.0
	for i, v := range a {
		d := float64(v) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// modelDropout is the largest Dropout ratio in the graph (0 without
// Dropout).
func modelDropout(m *ir.Model) float64 {
	r := 0.0
	for _, n := range m.Graph.Nodes {
		if n.OpType != "Dropout" {
			continue
		}
		p := float64(n.Float("ratio", 0.5))
		if len(n.Inputs) > 1 && n.Inputs[1] != nil {
			if t := n.Inputs[1].ConstTensor(); t != nil {
				if f, err := t.Float64s(); err == nil && len(f) == 1 {
					p = f[0]
				}
			}
		}
		r = max(r, p)
	}
	return r
}

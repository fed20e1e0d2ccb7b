package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/nnkit/nnkit/ir"
)

// Head describes a classifier that ReplaceHead swapped for a fresh one.
type Head struct {
	Node       string // the layer's node (label)
	Op         string // "Gemm", "MatMul+Add", "Conv"
	Weight     string // initializer names (Bias "" when the layer has none)
	Bias       string
	FanIn      int
	Old, New   int     // outputs before and after
	Bound      float64 // weights and bias drawn from U(−Bound, Bound)
	Reshapes   int     // Reshape constants downstream whose class count was updated
	PyTorchAPI string  // "nn.Linear" or "nn.Conv2d"
}

// HeadError is why ReplaceHead cannot put in a new head. Classes is set
// when the class count itself is refused (the layers after the head do not
// accept it).
type HeadError struct {
	Classes int
	Err     error
}

func (e *HeadError) Error() string {
	if e.Classes > 0 {
		return fmt.Sprintf("new head of %d classes: %v", e.Classes, e.Err)
	}
	return "new head: " + e.Err.Error()
}

func (e *HeadError) Unwrap() error { return e.Err }

func headErrorf(format string, a ...any) error {
	return &HeadError{Err: fmt.Errorf(format, a...)}
}

// ReplaceHead replaces the last weighted layer feeding the model's first
// output — a Gemm, a MatMul followed by a bias Add (nn.Linear on a tensor of
// rank > 2), or a Conv (a SqueezeNet-style classifier) — with a fresh layer
// of classes outputs, initialized as PyTorch's nn.Linear / nn.Conv2d
// reset_parameters() does: the weight by kaiming_uniform_(a=√5), which is
// U(±1/√fan_in), and the bias by U(±1/√fan_in), drawn from a generator
// seeded with seed. The initializers keep their names, so --freeze and
// --train-only globs still name them. Downstream, Reshape constants holding
// the old class count are updated and the declared shapes of the values up
// to the output are inferred again.
func ReplaceHead(m *ir.Model, classes int, seed uint64) (*Head, error) {
	if classes < 1 {
		return nil, fmt.Errorf("a new head needs ≥ 1 classes, got %d", classes)
	}
	g := m.Graph
	if g == nil || len(g.Outputs) == 0 {
		return nil, errors.New("the model has no outputs")
	}
	order, err := g.TopoOrder()
	if err != nil {
		return nil, err
	}
	// The nodes the first output depends on.
	anc := map[*ir.Node]bool{}
	stack := []*ir.Value{g.Outputs[0]}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n := v.Producer; n != nil && !anc[n] {
			anc[n] = true
			for _, in := range n.Inputs {
				if in != nil {
					stack = append(stack, in)
				}
			}
		}
	}
	// The last of them reading a parameter.
	var last *ir.Node
	for i := len(order) - 1; i >= 0 && last == nil; i-- {
		n := order[i]
		if !anc[n] {
			continue
		}
		for _, in := range n.Inputs {
			if in != nil && in.Init != nil && in.Role() == ir.RoleParameter {
				last = n
				break
			}
		}
	}
	if last == nil {
		return nil, headErrorf("no layer with weights feeds the output %q", g.Outputs[0].Name)
	}
	h := &Head{Node: last.Label(), New: classes}
	layer := last
	var w, b *ir.Value
	var wOutAxis int // the axis of the weight holding the outputs
	switch last.OpType {
	case "Gemm":
		w, b = last.In(1), last.In(2)
		h.Op, h.PyTorchAPI = "Gemm", "nn.Linear"
		if last.Int("transB", 0) == 0 {
			wOutAxis = 1
		}
		if last.Int("transA", 0) != 0 && w.Init == nil {
			return nil, headErrorf("%s (Gemm) has no weight initializer", last.Label())
		}
	case "Conv":
		w, b = last.In(1), last.In(2)
		h.Op, h.PyTorchAPI = "Conv", "nn.Conv2d"
		if grp := last.Int("group", 1); grp != 1 {
			return nil, headErrorf("the last layer %s is a grouped Conv (group %d); only an ordinary Conv can be replaced", last.Label(), grp)
		}
	case "Add": // MatMul + bias
		for i, in := range last.Inputs {
			if in != nil && in.Init != nil {
				b = in
				if p := last.In(1 - i); p != nil && p.Producer != nil && p.Producer.OpType == "MatMul" && len(p.Uses) == 1 {
					layer = p.Producer
				}
			}
		}
		if layer == last {
			return nil, headErrorf("the last layer with weights, %s, is an Add not fed by a MatMul; only Gemm, MatMul(+Add) or Conv classifiers can be replaced", last.Label())
		}
		fallthrough
	case "MatMul":
		w = layer.In(1)
		h.Op, h.PyTorchAPI, wOutAxis = "MatMul", "nn.Linear", 1
		if b != nil {
			h.Op = "MatMul+Add"
		}
	default:
		return nil, headErrorf("the last layer with weights before the output is %s (%s); only a Gemm, MatMul(+Add) or Conv classifier can be replaced", last.Label(), last.OpType)
	}
	h.Node = layer.Label()
	if w == nil || w.Init == nil || w.Role() != ir.RoleParameter {
		return nil, headErrorf("the weight of %s (%s) is not an initializer", layer.Label(), layer.OpType)
	}
	wd := w.Init.Dims
	if (h.Op != "Conv" && len(wd) != 2) || (h.Op == "Conv" && len(wd) < 3) {
		return nil, headErrorf("the weight %q of %s has shape %v", w.Name, layer.Label(), wd)
	}
	h.Weight, h.Old = w.Name, int(wd[wOutAxis])
	h.FanIn = 1
	for i, d := range wd {
		if i != wOutAxis {
			h.FanIn *= int(d)
		}
	}
	if len(w.Uses) != 1 {
		return nil, headErrorf("the weight %q of %s is shared with other layers (%d uses); replacing it would change them too", w.Name, layer.Label(), len(w.Uses))
	}
	if b != nil {
		if b.Init == nil || b.Role() != ir.RoleParameter {
			return nil, headErrorf("the bias of %s is not an initializer", layer.Label())
		}
		if b.Init.Len() != int64(h.Old) || len(b.Uses) != 1 {
			return nil, headErrorf("the bias %q of %s has shape %v (%d uses); want %d values used once", b.Name, layer.Label(), b.Init.Dims, len(b.Uses), h.Old)
		}
		h.Bias = b.Name
	}
	if h.FanIn < 1 {
		return nil, headErrorf("%s has no inputs (fan_in 0)", layer.Label())
	}

	// nn.Linear / nn.Conv2d reset_parameters(): kaiming_uniform_(w, a=√5)
	// has gain √(2/(1+a²)) = √(1/3) and bound √3·gain/√fan_in = 1/√fan_in;
	// the bias bound is 1/√fan_in too.
	h.Bound = 1 / math.Sqrt(float64(h.FanIn))
	rng := rand.New(rand.NewPCG(seed, 0x6e6e6b6974686561)) // "nnkithea"
	uniform := func(n int) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32((2*rng.Float64() - 1) * h.Bound)
		}
		return out
	}
	nd := slices.Clone(wd)
	nd[wOutAxis] = int64(classes)
	setInit(w, nd, uniform(int(numel64(nd))))
	if b != nil {
		bd := slices.Clone(b.Init.Dims)
		bd[len(bd)-1] = int64(classes)
		setInit(b, bd, uniform(classes))
	}

	// Downstream: the values between the layer and the output.
	down := map[*ir.Value]bool{}
	for _, v := range last.Outputs {
		if v != nil {
			down[v] = true
		}
	}
	for _, n := range order {
		if !downstreamOf(n, down) {
			continue
		}
		for _, v := range n.Outputs {
			if v != nil {
				down[v] = true
			}
		}
		if n.OpType == "Reshape" && h.Old != classes {
			if updated, err := updateReshape(g, n, h.Old, classes); err != nil {
				return nil, err
			} else if updated {
				h.Reshapes++
			}
		}
	}
	// Forget the declared shapes there, then infer them again.
	for v := range down {
		if v.Type != nil && v.Type.Shape != nil {
			s := make(ir.Shape, len(v.Type.Shape))
			for i := range s {
				s[i] = ir.Dim{Value: -1}
			}
			v.Type.Shape = s
		}
	}
	if _, err := ir.InferShapes(m); err != nil {
		return nil, &HeadError{Classes: classes, Err: fmt.Errorf("the layers after %s do not accept %d outputs: %w", layer.Label(), classes, err)}
	}
	// Keep the output's symbolic batch dimension as declared by the input.
	if in := g.DataInputs(); len(in) == 1 && in[0].Type != nil && len(in[0].Type.Shape) > 0 {
		if o := g.Outputs[0]; o.Type != nil && len(o.Type.Shape) > 0 && !o.Type.Shape[0].Known() && o.Type.Shape[0].Param == "" {
			o.Type.Shape[0] = in[0].Type.Shape[0]
		}
	}
	return h, nil
}

func numel64(d []int64) int64 {
	n := int64(1)
	for _, x := range d {
		n *= x
	}
	return n
}

// downstreamOf reports whether n reads one of the values in down.
func downstreamOf(n *ir.Node, down map[*ir.Value]bool) bool {
	for _, in := range n.Inputs {
		if in != nil && down[in] {
			return true
		}
	}
	return false
}

// setInit gives an initializer new dims and contents (and its declared
// type, if it is also listed as a graph input).
func setInit(v *ir.Value, dims []int64, data []float32) {
	t := v.Init
	t.Dims = dims
	t.External = nil
	if err := t.SetFloat32s(data); err != nil {
		panic(err) // dims and data are made together above
	}
	if v.Type != nil {
		v.Type = &ir.TypeInfo{Elem: ir.Float32, Shape: ir.StaticShape(dims)}
	}
}

// updateReshape replaces the old class count by the new one in a constant
// target shape of n (x.view(-1, 10) exports the 10). A constant read by
// other nodes too is copied into a new initializer for n alone.
func updateReshape(g *ir.Graph, n *ir.Node, old, classes int) (bool, error) {
	sv := n.In(1)
	if sv == nil {
		return false, nil
	}
	t := sv.ConstTensor()
	if t == nil {
		return false, nil // computed from shapes at run time: follows by itself
	}
	dims, err := t.Int64s()
	if err != nil {
		return false, &HeadError{Err: fmt.Errorf("Reshape %s: shape constant: %w", n.Label(), err)}
	}
	changed := false
	for i, d := range dims {
		if d == int64(old) {
			dims[i], changed = int64(classes), true
		}
	}
	if !changed {
		return false, nil
	}
	nt := ir.NewInt64(g.UniqueName(sv.Name+"_classes"), t.Dims, dims)
	if len(sv.Uses) == 1 && (sv.Init != nil || sv.Producer.TensorAttr("value") != nil) {
		// n alone reads it: change it in place (initializer or Constant).
		t.DType, t.Raw, t.TypedField, t.External = ir.Int64, nt.Raw, false, nil
		return true, nil
	}
	nv := g.AddInitializer(nt)
	sv.Uses = slices.DeleteFunc(sv.Uses, func(u ir.Use) bool { return u.Node == n && u.Index == 1 })
	n.Inputs[1] = nv
	nv.Uses = append(nv.Uses, ir.Use{Node: n, Index: 1})
	return true, nil
}

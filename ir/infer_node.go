package ir

import "fmt"

// Operand is one input or output of a node as InferNode sees it: its
// element type, its shape and, for a small integer tensor whose contents
// are known (a shape, axes), those contents; for a float tensor of at most
// MaxFloats elements whose contents are known (a Range bound, Resize
// scales), those.
type Operand struct {
	Elem   DType
	Shape  []int64
	Ints   []int64   // nil when unknown or not tracked
	Floats []float64 // inputs only; nil when unknown
}

// MaxFloats is the most float contents shape inference reads (a longer
// float constant is treated as unknown).
const MaxFloats = maxTracked

// InferNode infers the outputs of one default-domain node whose inputs
// have numeric shapes (ins[i] is input i; nil for an absent one), with the
// shape function InferShapes uses, so that the executor's planners take
// their output shapes from the same rules. Listed outputs whose shape is
// not determined, and operators inference does not know, are errors; the
// errors do not name the node (the caller does). An omitted output has
// its shape when inference determines it (Split's sizes), else nil.
func InferNode(n *Node, opset int64, ins []*Operand) ([]*Operand, error) {
	fn := lookupShapeFunc(n)
	if fn == nil {
		return nil, fmt.Errorf("shape inference does not know %s", n.OpType)
	}
	st := &inferState{opset: opset, info: make(map[*Value]*tinfo, len(n.Inputs)), sizes: map[string]sdim{}, bare: true}
	for i, v := range n.Inputs {
		if v == nil {
			continue
		}
		t := unknownT(Undefined)
		if i < len(ins) && ins[i] != nil {
			t = shapedT(ins[i].Elem, constDims(ins[i].Shape))
			// given contents are used whatever their length (InferShapes
			// follows at most maxTracked elements; a Split into 300 parts
			// has a 300-entry split input)
			if n := t.numel(); ins[i].Ints != nil && trackable(t.elem) && n.isConst() && n.k == int64(len(ins[i].Ints)) {
				t.val = constDims(ins[i].Ints)
			}
		}
		st.info[v] = t
		if i < len(ins) && ins[i] != nil && ins[i].Floats != nil && len(ins[i].Floats) <= MaxFloats {
			if st.floatVals == nil {
				st.floatVals = map[*Value][]float64{}
			}
			st.floatVals[v] = ins[i].Floats
		}
	}
	c := &nodeCtx{inferState: st, n: n, out: make([]*tinfo, len(n.Outputs))}
	if err := c.run(fn); err != nil {
		return nil, err
	}
	outs := make([]*Operand, len(n.Outputs))
	for i, t := range c.out {
		shape, ok := t.staticDims()
		switch {
		case !ok && n.Outputs[i] == nil:
			continue
		case !ok:
			return nil, fmt.Errorf("output %d: shape inference leaves its shape unknown", i)
		}
		o := &Operand{Elem: t.elem, Shape: shape}
		o.Ints, _ = t.consts()
		outs[i] = o
	}
	return outs, nil
}

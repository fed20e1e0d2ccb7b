package exec

import (
	"errors"
	"fmt"

	"github.com/nnkit/nnkit/ir"
)

// Constant and ConstantOfShape: values known before running (no gradient).

func registerConst[T Float](m map[string]opDef[T]) {
	m["Constant"] = opDef[T]{plan: planConstant[T], check: checkConstant}
	m["ConstantOfShape"] = opDef[T]{plan: planConstantOfShape[T]}
}

func checkConstant(n *ir.Node, _ int64) error {
	for _, a := range []string{"value", "value_float", "value_floats", "value_int", "value_ints"} {
		if n.HasAttr(a) {
			if t := n.TensorAttr("value"); a == "value" && t != nil {
				if _, ok := kindOf(t.DType); !ok {
					return fmt.Errorf("value of type %s", t.DType)
				}
			}
			return nil
		}
	}
	return errors.New("only value, value_float(s) and value_int(s) constants")
}

func planConstant[T Float](c *nodeCtx[T]) error {
	n := c.n
	var src *tensor[T]
	switch {
	case n.TensorAttr("value") != nil:
		t, err := constTensor[T](n.Label(), n.TensorAttr("value"))
		if err != nil {
			return err
		}
		src = t
	case n.HasAttr("value_float"):
		src = &tensor[T]{kind: kFloat, shape: []int{}, f: []T{T(n.Float("value_float", 0))}}
	case n.HasAttr("value_floats"):
		v := n.Floats("value_floats", nil)
		src = &tensor[T]{kind: kFloat, shape: []int{len(v)}, f: make([]T, len(v))}
		for i, x := range v {
			src.f[i] = T(x)
		}
	case n.HasAttr("value_int"):
		src = &tensor[T]{kind: kInt, shape: []int{}, i: []int64{n.Int("value_int", 0)}}
	case n.HasAttr("value_ints"):
		v := n.Ints("value_ints", nil)
		src = &tensor[T]{kind: kInt, shape: []int{len(v)}, i: append([]int64{}, v...)}
	default:
		return errors.New("no supported value attribute")
	}
	y := c.output(0, src.kind, src.shape)
	c.fwd = func(*runCtx) error {
		copy(y.f, src.f)
		copy(y.i, src.i)
		return nil
	}
	return nil
}

func planConstantOfShape[T Float](c *nodeCtx[T]) error {
	if _, err := c.ints(0, "shape"); err != nil { // known before running
		return err
	}
	shape, err := c.inferred(0)
	if err != nil {
		return err
	}
	k := kFloat
	var fv T
	var iv int64
	if t := c.n.TensorAttr("value"); t != nil {
		src, err := constTensor[T]("value", t)
		if err != nil {
			return err
		}
		if src.size != 1 {
			return fmt.Errorf("value has %d elements, want 1", src.size)
		}
		k = src.kind
		if k == kFloat {
			fv = src.f[0]
		} else {
			iv = src.i[0]
		}
	}
	y := c.output(0, k, shape)
	c.fwd = func(*runCtx) error {
		for i := range y.f {
			y.f[i] = fv
		}
		for i := range y.i {
			y.i[i] = iv
		}
		return nil
	}
	return nil
}

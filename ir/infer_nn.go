package ir

import (
	"fmt"
	"sort"
	"strings"
)

// Shape functions for the neural-network operators: Gemm and MatMul,
// convolutions and pooling, normalizations, Dropout and the recurrent
// layers.

func registerNNOps(reg func(shapeFunc, ...string)) {
	reg(gemmOp, "Gemm")
	reg(matMulOp, "MatMul")
	reg(convOp, "Conv")
	reg(convTransposeOp, "ConvTranspose")
	reg(poolOp, "MaxPool", "AveragePool", "LpPool")
	reg(globalPoolOp, "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")
	reg(batchNormOp, "BatchNormalization")
	reg(layerNormOp, "LayerNormalization")
	reg(dropoutOp, "Dropout")
	reg(rnnOp, "LSTM", "GRU", "RNN")
	reg(einsumOp, "Einsum")
}

// checkDim reports an error when two sizes certainly differ; the message
// (format and args, which may be *tinfo) is only formatted then.
func (c *nodeCtx) checkDim(a, b sdim, format string, args ...any) error {
	if sizeEqual(a, b) == 0 {
		return c.errorf("%s: %s vs %s", fmt.Sprintf(format, args...), a, b)
	}
	return nil
}

// pick returns the more informative of two sizes that must be equal.
func pick(a, b sdim) sdim {
	switch {
	case a.isConst():
		return a
	case b.isConst():
		return b
	case a.unk:
		return b
	}
	return a
}

func gemmOp(c *nodeCtx) error {
	a, err := c.input(0)
	if err != nil {
		return err
	}
	b, err := c.input(1)
	if err != nil {
		return err
	}
	elem, err := c.sameElem(a, b)
	if err != nil {
		return err
	}
	for i, t := range []*tinfo{a, b} {
		if t.known() && t.rank != 2 {
			return c.errorf("input %c has shape %s, want 2-D", "AB"[i], t.shapeString())
		}
	}
	m, ka, kb, n := unknownSize, unknownSize, unknownSize, unknownSize
	if a.known() {
		m, ka = a.dims[0], a.dims[1]
		if c.n.Int("transA", 0) != 0 {
			m, ka = ka, m
		}
	}
	if b.known() {
		kb, n = b.dims[0], b.dims[1]
		if c.n.Int("transB", 0) != 0 {
			kb, n = n, kb
		}
	}
	if sizeEqual(ka, kb) == 0 {
		return c.errorf("inner dimensions differ: A %s (transA=%d) has K = %s, B %s (transB=%d) has K = %s",
			a.shapeString(), c.n.Int("transA", 0), ka, b.shapeString(), c.n.Int("transB", 0), kb)
	}
	out := []sdim{m, n}
	if ct := c.in(2); ct != nil && ct.known() {
		if ct.rank > 2 {
			return c.errorf("C has shape %s, more than 2-D", ct.shapeString())
		}
		for i := 1; i <= ct.rank; i++ {
			d := ct.dims[ct.rank-i]
			if !d.isConstVal(1) && sizeEqual(d, out[2-i]) == 0 {
				return c.errorf("C %s does not broadcast to the output [%s, %s]", ct.shapeString(), m, n)
			}
		}
	}
	c.set(0, shapedT(elem, out))
	return nil
}

func matMulOp(c *nodeCtx) error {
	a, err := c.input(0)
	if err != nil {
		return err
	}
	b, err := c.input(1)
	if err != nil {
		return err
	}
	elem, err := c.sameElem(a, b)
	if err != nil {
		return err
	}
	if !a.known() || !b.known() {
		c.set(0, unknownT(elem))
		return nil
	}
	if a.rank == 0 || b.rank == 0 {
		return c.errorf("scalar input: %s × %s", a.shapeString(), b.shapeString())
	}
	ad, bd := a.dims, b.dims
	if a.rank == 1 {
		ad = []sdim{cst(1), ad[0]}
	}
	if b.rank == 1 {
		bd = []sdim{bd[0], cst(1)}
	}
	ka, kb := ad[len(ad)-1], bd[len(bd)-2]
	if sizeEqual(ka, kb) == 0 {
		return c.errorf("inner dimensions differ: %s × %s (%s vs %s)", a.shapeString(), b.shapeString(), ka, kb)
	}
	batch, _, err := c.broadcastDims(shapedT(elem, ad[:len(ad)-2]), shapedT(elem, bd[:len(bd)-2]))
	if err != nil {
		return c.errorf("batch dimensions of %s × %s do not broadcast", a.shapeString(), b.shapeString())
	}
	out := batch
	if a.rank > 1 {
		out = append(out, ad[len(ad)-2])
	}
	if b.rank > 1 {
		out = append(out, bd[len(bd)-1])
	}
	c.set(0, shapedT(elem, out))
	return nil
}

// window is NodeWindow for this node, its errors naming the node.
func (c *nodeCtx) window(spatial int, kernel []int64, dilations bool) (*Window, error) {
	w, err := NodeWindow(c.n, spatial, kernel, dilations)
	if err != nil {
		return nil, c.errorf("%v", err)
	}
	return w, nil
}

func (c *nodeCtx) spatialOut(x *tinfo, w *Window) ([]sdim, error) {
	dims := make([]sdim, len(w.Kernel))
	for i := range dims {
		in := x.dims[2+i]
		o := w.out(i, in)
		if o.isConst() && o.k < 1 {
			return nil, c.errorf("input %s is too small for kernel_shape %v (strides %v, dilations %v, pads %v): output size %d on spatial axis %d",
				x.shapeString(), w.Kernel, w.Strides, w.Dilations, w.Pads, o.k, i)
		}
		dims[i] = o
	}
	return dims, nil
}

// weightKernel is a convolution weight's spatial dims, nil unless all are
// known numbers.
func weightKernel(w *tinfo) []int64 {
	if ks, ok := w.staticDims(); ok && len(ks) > 2 {
		return ks[2:]
	}
	return nil
}

func convOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	w, err := c.input(1)
	if err != nil {
		return err
	}
	elem, err := c.sameElem(x, w)
	if err != nil {
		return err
	}
	r := x.rank
	if r < 0 {
		r = w.rank
	}
	if r < 0 {
		c.set(0, unknownT(elem))
		return nil
	}
	if r < 3 {
		return c.errorf("input %s needs at least 3 dims (N, C, spatial...)", x.shapeString())
	}
	if x.known() && w.known() && x.rank != w.rank {
		return c.errorf("input %s and weight %s have different ranks", x.shapeString(), w.shapeString())
	}
	kernel, group, err := ConvKernel(c.n, weightKernel(w))
	if err != nil {
		return c.errorf("%v", err)
	}
	m := unknownSize
	if w.known() {
		m = w.dims[0]
		if m.isConst() && m.k%group != 0 {
			return c.errorf("weight %s: %d output channels are not a multiple of group %d", w.shapeString(), m.k, group)
		}
		if x.known() {
			if err := c.checkDim(x.dims[1], mulSize(w.dims[1], cst(group)), "input channels of %s do not match weight %s × group %d", x, w, group); err != nil {
				return err
			}
		}
	}
	if bt := c.in(2); bt != nil && bt.known() {
		if bt.rank != 1 {
			return c.errorf("bias %s is not 1-D", bt.shapeString())
		}
		if err := c.checkDim(bt.dims[0], m, "bias %s does not match %s output channels", bt, m); err != nil {
			return err
		}
		m = pick(m, bt.dims[0])
	}
	if !x.known() || kernel == nil {
		dims := unknownDims(r)
		dims[1] = m
		if x.known() {
			dims[0] = x.dims[0]
		}
		c.set(0, shapedT(elem, dims))
		return nil
	}
	win, err := c.window(r-2, kernel, true)
	if err != nil {
		return err
	}
	sp, err := c.spatialOut(x, win)
	if err != nil {
		return err
	}
	c.set(0, shapedT(elem, append([]sdim{x.dims[0], m}, sp...)))
	return nil
}

func convTransposeOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	w, err := c.input(1)
	if err != nil {
		return err
	}
	elem, err := c.sameElem(x, w)
	if err != nil {
		return err
	}
	if !x.known() || !w.known() {
		c.set(0, unknownT(elem))
		return nil
	}
	r := x.rank
	if r < 3 || w.rank != r {
		return c.errorf("input %s and weight %s: need equal ranks of at least 3", x.shapeString(), w.shapeString())
	}
	kernel, group, err := ConvKernel(c.n, weightKernel(w))
	if err != nil {
		return c.errorf("%v", err)
	}
	if err := c.checkDim(x.dims[1], w.dims[0], "input channels of %s do not match weight %s", x, w); err != nil {
		return err
	}
	m := mulSize(w.dims[1], cst(group))
	spatial := r - 2
	if kernel == nil {
		dims := unknownDims(r)
		dims[0], dims[1] = x.dims[0], m
		c.set(0, shapedT(elem, dims))
		return nil
	}
	win, err := c.window(spatial, kernel, true)
	if err != nil {
		return err
	}
	dims := []sdim{x.dims[0], m}
	for i := 0; i < spatial; i++ {
		o := win.transposedOut(i, x.dims[2+i])
		same := win.AutoPad == "SAME_UPPER" || win.AutoPad == "SAME_LOWER"
		if win.OutputShape == nil && !same && o.isConst() && o.k < 1 {
			return c.errorf("output size %d on spatial axis %d is not positive", o.k, i)
		}
		dims = append(dims, o)
	}
	c.set(0, shapedT(elem, dims))
	return nil
}

func poolOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	kernel := c.n.Ints("kernel_shape", nil)
	if kernel == nil {
		return c.errorf("has no kernel_shape")
	}
	if x.known() && x.rank < 3 {
		return c.errorf("input %s needs at least 3 dims (N, C, spatial...)", x.shapeString())
	}
	r := x.rank
	if r < 0 {
		r = len(kernel) + 2
	}
	win, err := c.window(r-2, kernel, c.n.OpType != "LpPool")
	if err != nil {
		return err
	}
	if !x.known() {
		c.set(0, shapedT(x.elem, unknownDims(r)))
		c.set(1, shapedT(Int64, unknownDims(r)))
		return nil
	}
	sp, err := c.spatialOut(x, win)
	if err != nil {
		return err
	}
	dims := append([]sdim{x.dims[0], x.dims[1]}, sp...)
	c.set(0, shapedT(x.elem, dims))
	c.set(1, shapedT(Int64, dims)) // MaxPool's Indices
	return nil
}

func globalPoolOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	if !x.known() {
		c.set(0, unknownT(x.elem))
		return nil
	}
	if x.rank < 3 {
		return c.errorf("input %s needs at least 3 dims (N, C, spatial...)", x.shapeString())
	}
	dims := make([]sdim, x.rank)
	dims[0], dims[1] = x.dims[0], x.dims[1]
	for i := 2; i < x.rank; i++ {
		dims[i] = cst(1)
	}
	c.set(0, shapedT(x.elem, dims))
	return nil
}

func batchNormOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	var params [4]*tinfo
	for i := range params {
		if params[i], err = c.input(i + 1); err != nil {
			return err
		}
	}
	if x.known() && x.rank < 2 {
		return c.errorf("input %s needs at least 2 dims (N, C, ...)", x.shapeString())
	}
	ch := unknownSize
	if x.known() {
		ch = x.dims[1]
	}
	names := [4]string{"scale", "B", "input_mean", "input_var"}
	for i, p := range params {
		if !p.known() {
			continue
		}
		if p.rank != 1 {
			return c.errorf("%s has shape %s, want [C] (1-D)", names[i], p.shapeString())
		}
		if err := c.checkDim(p.dims[0], ch, "%s %s does not match the %s channels of input %s", names[i], p, ch, x); err != nil {
			return err
		}
		ch = pick(ch, p.dims[0])
	}
	c.set(0, &tinfo{elem: x.elem, rank: x.rank, dims: x.dims})
	statElem := params[2].elem
	if statElem == Undefined {
		statElem = x.elem
	}
	// Training outputs: running mean and var (opset 9-13: 5 outputs with
	// saved mean and var; opset 14+: 3 outputs, training_mode=1).
	c.set(1, shapedT(statElem, []sdim{ch}))
	c.set(2, shapedT(statElem, []sdim{ch}))
	c.set(3, shapedT(x.elem, []sdim{ch}))
	c.set(4, shapedT(x.elem, []sdim{ch}))
	return nil
}

func layerNormOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	stash := DType(c.n.Int("stash_type", int64(Float32)))
	c.set(0, &tinfo{elem: x.elem, rank: x.rank, dims: x.dims})
	if !x.known() {
		c.set(1, unknownT(stash))
		c.set(2, unknownT(stash))
		return nil
	}
	a, err := c.axis(c.n.Int("axis", -1), x.rank)
	if err != nil {
		return err
	}
	for i := 1; i <= 2; i++ {
		if p := c.in(i); p != nil && p.known() {
			if _, _, err := c.broadcastDims(x, p); err != nil {
				return err
			}
		}
	}
	stat := make([]sdim, x.rank)
	for i := range stat {
		if i < a {
			stat[i] = x.dims[i]
		} else {
			stat[i] = cst(1)
		}
	}
	c.set(1, shapedT(stash, stat))
	c.set(2, shapedT(stash, stat))
	return nil
}

func dropoutOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	for i := 1; i <= 2; i++ {
		if t := c.in(i); t != nil && t.known() && t.rank != 0 {
			return c.errorf("input %d (%s) has shape %s, want a scalar", i, [3]string{"", "ratio", "training_mode"}[i], t.shapeString())
		}
	}
	c.set(0, &tinfo{elem: x.elem, rank: x.rank, dims: x.dims})
	c.set(1, &tinfo{elem: Bool, rank: x.rank, dims: x.dims})
	return nil
}

// rnnOp covers LSTM (4 gates), GRU (3) and RNN (1).
//
//	layout 0: X [T, B, I] → Y [T, D, B, H], Y_h and Y_c [D, B, H]
//	layout 1: X [B, T, I] → Y [B, T, D, H], Y_h and Y_c [B, D, H]
func rnnOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	w, err := c.input(1)
	if err != nil {
		return err
	}
	r, err := c.input(2)
	if err != nil {
		return err
	}
	ra, err := RecurrentAttrs(c.n)
	if err != nil {
		return c.errorf("%v", err)
	}
	gates, nd := int64(ra.Gates), int64(ra.Directions)
	for i, t := range []*tinfo{x, w, r} {
		if t.known() && t.rank != 3 {
			return c.errorf("%s has shape %s, want 3-D", [3]string{"X", "W", "R"}[i], t.shapeString())
		}
	}
	h := unknownSize
	if c.n.HasAttr("hidden_size") {
		h = cst(ra.HiddenSize)
		if h.k <= 0 {
			return c.errorf("hidden_size %d is not positive", h.k)
		}
	}
	if r.known() {
		if err := c.checkDim(r.dims[2], h, "R's last dim does not match hidden_size"); err != nil {
			return err
		}
		h = pick(h, r.dims[2])
	}
	if w.known() {
		if err := c.checkDim(w.dims[1], mulSize(h, cst(gates)), "W %s does not hold %d gates of hidden size %s", w, gates, h); err != nil {
			return err
		}
		if h.unk {
			h = divSize(w.dims[1], cst(gates))
		}
		if err := c.checkDim(w.dims[0], cst(nd), "W %s does not match %d direction(s)", w, nd); err != nil {
			return err
		}
	}
	if r.known() {
		if err := c.checkDim(r.dims[1], mulSize(h, cst(gates)), "R %s does not hold %d gates of hidden size %s", r, gates, h); err != nil {
			return err
		}
		if err := c.checkDim(r.dims[0], cst(nd), "R %s does not match %d direction(s)", r, nd); err != nil {
			return err
		}
	}
	seq, batch := unknownSize, unknownSize
	if x.known() {
		seq, batch = x.dims[0], x.dims[1]
		if ra.BatchFirst {
			seq, batch = batch, seq
		}
		if w.known() {
			if err := c.checkDim(x.dims[2], w.dims[2], "input size of X %s does not match W %s", x, w); err != nil {
				return err
			}
		}
	}
	D := cst(nd)
	state := []sdim{D, batch, h}
	y := []sdim{seq, D, batch, h}
	if ra.BatchFirst {
		state = []sdim{batch, D, h}
		y = []sdim{batch, seq, D, h}
	}
	for _, i := range []int{5, 6} { // initial_h, initial_c
		if t := c.in(i); t != nil && t.known() {
			if t.rank != 3 {
				return c.errorf("initial state %s is not 3-D", t.shapeString())
			}
			for k := range state {
				if err := c.checkDim(t.dims[k], state[k], "initial state %s does not match %s", t, sizesString(state)); err != nil {
					return err
				}
			}
		}
	}
	c.set(0, shapedT(x.elem, y))
	c.set(1, shapedT(x.elem, state))
	c.set(2, shapedT(x.elem, state))
	return nil
}

// einsumOp follows numpy.einsum: "bhqd,bhkd->bhqk", with "..." standing
// for broadcast leading dims, and without "->" the output is the ellipsis
// dims followed by the letters used once, in alphabetical order.
func einsumOp(c *nodeCtx) error {
	eq := strings.ReplaceAll(c.n.String("equation", ""), " ", "")
	if eq == "" {
		return c.errorf("has no equation")
	}
	lhs, rhs, explicit := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	if len(terms) != len(c.n.Inputs) {
		return c.errorf("equation %q has %d operands but the node has %d inputs", eq, len(terms), len(c.n.Inputs))
	}
	letters := map[rune]sdim{}
	count := map[rune]int{}
	var ell []*tinfo
	elem := Undefined
	for i, term := range terms {
		x, err := c.input(i)
		if err != nil {
			return err
		}
		if elem == Undefined {
			elem = x.elem
		}
		if !x.known() {
			c.set(0, unknownT(elem))
			return nil
		}
		pre, post, hasEll := strings.Cut(term, "...")
		n := len(pre) + len(post)
		if n > x.rank || (!hasEll && n != x.rank) {
			return c.errorf("operand %d %q does not fit input %s", i, term, x.shapeString())
		}
		ne := x.rank - n
		ell = append(ell, shapedT(elem, x.dims[len(pre):len(pre)+ne]))
		for j, r := range pre + post {
			if r < 'A' || (r > 'Z' && r < 'a') || r > 'z' {
				return c.errorf("equation %q has an invalid subscript %q", eq, r)
			}
			k := j
			if j >= len(pre) {
				k = j + ne
			}
			d := x.dims[k]
			if old, ok := letters[r]; ok {
				if sizeEqual(old, d) == 0 && !old.isConstVal(1) && !d.isConstVal(1) {
					return c.errorf("subscript %c is %s in one operand and %s in another", r, old, d)
				}
				switch {
				case old.isConstVal(1):
					letters[r] = d
				case d.isConstVal(1):
				default:
					letters[r] = pick(old, d)
				}
			} else {
				letters[r] = d
			}
			count[r]++
		}
	}
	ellDims, _, err := c.broadcastDims(ell...)
	if err != nil {
		return err
	}
	var out []sdim
	if explicit {
		pre, post, hasEll := strings.Cut(rhs, "...")
		for _, r := range pre {
			d, ok := letters[r]
			if !ok {
				return c.errorf("output subscript %c does not appear in the inputs", r)
			}
			out = append(out, d)
		}
		if hasEll {
			out = append(out, ellDims...)
		}
		for _, r := range post {
			d, ok := letters[r]
			if !ok {
				return c.errorf("output subscript %c does not appear in the inputs", r)
			}
			out = append(out, d)
		}
	} else {
		out = append(out, ellDims...)
		var once []rune
		for r, n := range count {
			if n == 1 {
				once = append(once, r)
			}
		}
		sort.Slice(once, func(i, j int) bool { return once[i] < once[j] })
		for _, r := range once {
			out = append(out, letters[r])
		}
	}
	c.set(0, shapedT(elem, out))
	return nil
}

package ir

import (
	"math"
)

// Shape functions for operators that move data around (Reshape, Slice,
// Gather, Concat, ...), that compute shapes (Shape, Size, ConstantOfShape,
// Range) and reductions. Where the contents of a small integer tensor are
// known they are propagated, which is how runtime-computed shapes in
// PyTorch exports (Shape → Gather → Unsqueeze → Concat → Reshape) resolve.

func registerTensorOps(reg func(shapeFunc, ...string)) {
	reg(constantOp, "Constant")
	reg(shapeOp, "Shape")
	reg(sizeOp, "Size")
	reg(gatherOp, "Gather")
	reg(gatherElementsOp, "GatherElements")
	reg(gatherNDOp, "GatherND")
	reg(unsqueezeOp, "Unsqueeze")
	reg(squeezeOp, "Squeeze")
	reg(concatOp, "Concat")
	reg(reshapeOp, "Reshape")
	reg(flattenOp, "Flatten")
	reg(transposeOp, "Transpose")
	reg(splitOp, "Split")
	reg(sliceOp, "Slice")
	reg(expandOp, "Expand")
	reg(tileOp, "Tile")
	reg(constantOfShapeOp, "ConstantOfShape")
	reg(rangeOp, "Range")
	reg(padOp, "Pad")
	reg(castOp, "Cast")
	reg(castLikeOp, "CastLike")
	reg(resizeOp, "Resize", "Upsample")
	reg(depthToSpaceOp, "DepthToSpace", "SpaceToDepth")
	reg(oneHotOp, "OneHot")
	reg(nonZeroOp, "NonZero")
	reg(compressOp, "Compress")
	reg(eyeLikeOp, "EyeLike")
	reg(topKOp, "TopK")
	reg(argOp, "ArgMax", "ArgMin")
	reg(reduceOp, "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
		"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")
	reg(randomOp, "RandomNormal", "RandomUniform")
	reg(quantizeOp, "QuantizeLinear", "DequantizeLinear")
}

// bigIndex: Slice bounds at or beyond ±(2^31−1) mean "to the end"
// ("from the start"). PyTorch writes INT64_MAX for an open end; symbolic
// dims are taken to be smaller than this.
const bigIndex = math.MaxInt32

func constantOp(c *nodeCtx) error {
	n := c.n
	for _, a := range n.Attrs {
		switch a.Name {
		case "value":
			if a.T == nil {
				return c.errorf("attribute value is not a tensor")
			}
			t := shapedT(a.T.DType, constDims(a.T.Dims))
			c.set(0, t.withVal(tensorVal(a.T)))
			return nil
		case "value_float":
			c.set(0, shapedT(Float32, []sdim{}))
			return nil
		case "value_floats":
			c.set(0, shapedT(Float32, constDims([]int64{int64(len(a.Floats))})))
			return nil
		case "value_int":
			c.set(0, shapedT(Int64, []sdim{}).withVal(constVal(a.I)))
			return nil
		case "value_ints":
			c.set(0, shapedT(Int64, constDims([]int64{int64(len(a.Ints))})).withVal(constVal(a.Ints...)))
			return nil
		case "value_string":
			c.set(0, shapedT(String, []sdim{}))
			return nil
		case "value_strings":
			c.set(0, shapedT(String, constDims([]int64{int64(len(a.Strings))})))
			return nil
		case "sparse_value":
			c.set(0, unknownT(Undefined))
			return nil
		}
	}
	return c.errorf("has no value attribute")
}

func shapeOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	if !x.known() {
		c.set(0, shapedT(Int64, []sdim{unknownSize}))
		return nil
	}
	r := int64(x.rank)
	clamp := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	start, end := clamp(c.n.Int("start", 0)), clamp(c.n.Int("end", r))
	if end < start {
		end = start
	}
	val := append([]sdim(nil), x.dims[start:end]...)
	c.set(0, shapedT(Int64, []sdim{cst(end - start)}).withVal(val))
	return nil
}

func sizeOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	c.set(0, shapedT(Int64, []sdim{}).withVal([]sdim{x.numel()}))
	return nil
}

func gatherOp(c *nodeCtx) error {
	data, err := c.input(0)
	if err != nil {
		return err
	}
	idx, err := c.input(1)
	if err != nil {
		return err
	}
	if idx.elem != Undefined && idx.elem != Int64 && idx.elem != Int32 {
		return c.errorf("indices are %s, want int32 or int64", idx.elem)
	}
	if !data.known() || !idx.known() {
		c.set(0, unknownT(data.elem))
		return nil
	}
	if data.rank == 0 {
		return c.errorf("data is a scalar")
	}
	a, err := c.axis(c.n.Int("axis", 0), data.rank)
	if err != nil {
		return err
	}
	dims := make([]sdim, 0, data.rank-1+idx.rank)
	dims = append(append(append(dims, data.dims[:a]...), idx.dims...), data.dims[a+1:]...)
	t := shapedT(data.elem, dims)
	ix, ok := idx.consts()
	if ok {
		if n := data.dims[a]; n.isConst() {
			for _, i := range ix {
				if i < -n.k || i >= n.k {
					return c.errorf("index %d is out of range for axis %d of size %d", i, a, n.k)
				}
			}
		}
	}
	if ok && data.val != nil {
		sd, _ := data.staticDims()
		outer, inner := int64(1), int64(1)
		for _, d := range sd[:a] {
			outer *= d
		}
		for _, d := range sd[a+1:] {
			inner *= d
		}
		n := sd[a]
		val := make([]sdim, 0, outer*int64(len(ix))*inner)
		for o := int64(0); o < outer; o++ {
			for _, i := range ix {
				if i < 0 {
					i += n
				}
				base := (o*n + i) * inner
				val = append(val, data.val[base:base+inner]...)
			}
		}
		t.withVal(val)
	}
	c.set(0, t)
	return nil
}

func gatherElementsOp(c *nodeCtx) error {
	data, err := c.input(0)
	if err != nil {
		return err
	}
	idx, err := c.input(1)
	if err != nil {
		return err
	}
	if data.known() && idx.known() {
		if data.rank != idx.rank {
			return c.errorf("data has rank %d but indices rank %d", data.rank, idx.rank)
		}
		if _, err := c.axis(c.n.Int("axis", 0), data.rank); err != nil {
			return err
		}
	}
	c.set(0, &tinfo{elem: data.elem, rank: idx.rank, dims: idx.dims})
	return nil
}

func gatherNDOp(c *nodeCtx) error {
	data, err := c.input(0)
	if err != nil {
		return err
	}
	idx, err := c.input(1)
	if err != nil {
		return err
	}
	if !data.known() || !idx.known() || idx.rank == 0 || !idx.dims[idx.rank-1].isConst() {
		c.set(0, unknownT(data.elem))
		return nil
	}
	b := int(c.n.Int("batch_dims", 0))
	k := int(idx.dims[idx.rank-1].k)
	if b < 0 || b >= min(data.rank, idx.rank) || b+k > data.rank {
		return c.errorf("indices %s with batch_dims %d do not fit data %s", idx.shapeString(), b, data.shapeString())
	}
	dims := append(append([]sdim{}, idx.dims[:idx.rank-1]...), data.dims[b+k:]...)
	c.set(0, shapedT(data.elem, dims))
	return nil
}

func unsqueezeOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	axes, given, ok := c.axesArg("axes", 1)
	if !given {
		return c.errorf("has no axes")
	}
	if !x.known() {
		c.set(0, unknownT(x.elem))
		return nil
	}
	if !ok {
		// Axes computed at runtime: the rank is known if their count is.
		if a := c.in(1); a.known() && a.rank == 1 && a.dims[0].isConst() {
			k, err := c.rankFrom(1, a.dims[0])
			if err != nil {
				return err
			}
			c.set(0, shapedT(x.elem, unknownDims(x.rank+k)))
		} else {
			c.set(0, unknownT(x.elem))
		}
		return nil
	}
	r := x.rank + len(axes)
	set, err := c.axesSet(axes, r)
	if err != nil {
		return err
	}
	dims := make([]sdim, r)
	j := 0
	for i := range dims {
		if set[i] {
			dims[i] = cst(1)
		} else {
			dims[i] = x.dims[j]
			j++
		}
	}
	c.set(0, shapedT(x.elem, dims).withVal(x.val))
	return nil
}

func squeezeOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	axes, given, ok := c.axesArg("axes", 1)
	if !x.known() || !ok {
		c.set(0, unknownT(x.elem))
		return nil
	}
	var dims []sdim
	if given && len(axes) > 0 {
		set, err := c.axesSet(axes, x.rank)
		if err != nil {
			return err
		}
		dims = make([]sdim, 0, x.rank)
		for i, d := range x.dims {
			if !set[i] {
				dims = append(dims, d)
				continue
			}
			if d.isConst() && d.k != 1 {
				return c.errorf("cannot squeeze axis %d of size %d", i, d.k)
			}
			if lb, ok := d.lowerBound(); ok && lb > 1 {
				return c.errorf("cannot squeeze axis %d of size %s", i, d)
			}
		}
	} else {
		// No axes: drop every dim of size 1. A symbolic dim that may be 1
		// leaves the rank unknown.
		dims = make([]sdim, 0, x.rank)
		for _, d := range x.dims {
			switch lb, ok := d.lowerBound(); {
			case d.isConstVal(1):
			case d.isConst(), ok && lb > 1:
				dims = append(dims, d)
			default:
				c.set(0, unknownT(x.elem))
				return nil
			}
		}
	}
	c.set(0, shapedT(x.elem, dims).withVal(x.val))
	return nil
}

func concatOp(c *nodeCtx) error {
	if len(c.n.Inputs) == 0 {
		return c.errorf("has no inputs")
	}
	if !c.n.HasAttr("axis") {
		return c.errorf("has no axis attribute")
	}
	ts := make([]*tinfo, len(c.n.Inputs))
	r := -1
	for i := range ts {
		t, err := c.input(i)
		if err != nil {
			return err
		}
		ts[i] = t
		if !t.known() {
			continue
		}
		if t.rank == 0 {
			return c.errorf("input %d is a scalar", i)
		}
		if r >= 0 && t.rank != r {
			return c.errorf("inputs have different ranks: %s", c.shapesString(ts[:i+1]))
		}
		r = t.rank
	}
	elem, err := c.sameElem(ts...)
	if err != nil {
		return err
	}
	if r < 0 {
		c.set(0, unknownT(elem))
		return nil
	}
	a, err := c.axis(c.n.Int("axis", 0), r)
	if err != nil {
		return err
	}
	dims := make([]sdim, r)
	allKnown := true
	for i := range dims {
		acc := sdim{unk: true}
		if i == a {
			acc = cst(0)
		}
		first := true
		for _, t := range ts {
			if !t.known() {
				allKnown = false
				if i == a {
					acc = unknownSize
				}
				continue
			}
			d := t.dims[i]
			if i == a {
				acc = addSize(acc, d)
				continue
			}
			switch {
			case first:
				acc = d
			case acc.same(d):
			case acc.isConst() && d.isConst():
				return c.errorf("inputs differ in dim %d outside the concat axis %d: %s", i, a, c.shapesString(ts))
			case d.isConst():
				acc = d
			case acc.isConst():
			default:
				if sizeEqual(acc, d) == 0 {
					return c.errorf("inputs differ in dim %d outside the concat axis %d: %s", i, a, c.shapesString(ts))
				}
				acc = unknownSize
			}
			first = false
		}
		dims[i] = acc
	}
	t := shapedT(elem, dims)
	if allKnown {
		vals := true
		for _, x := range ts {
			vals = vals && x.val != nil
		}
		if vals {
			t.withVal(concatVal(ts, a))
		}
	}
	c.set(0, t)
	return nil
}

func concatVal(ts []*tinfo, a int) []sdim {
	sd0, _ := ts[0].staticDims()
	outer := int64(1)
	for _, d := range sd0[:a] {
		outer *= d
	}
	var val []sdim
	for o := int64(0); o < outer; o++ {
		for _, t := range ts {
			sd, _ := t.staticDims()
			chunk := int64(1)
			for _, d := range sd[a:] {
				chunk *= d
			}
			val = append(val, t.val[o*chunk:(o+1)*chunk]...)
		}
	}
	if val == nil {
		val = []sdim{}
	}
	return val
}

func reshapeOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	s, err := c.input(1)
	if err != nil {
		return err
	}
	if s.known() && s.rank != 1 {
		return c.errorf("shape input has rank %d, want 1", s.rank)
	}
	if !s.known() || !s.dims[0].isConst() {
		c.set(0, unknownT(x.elem))
		return nil
	}
	n, err := c.rankFrom(1, s.dims[0])
	if err != nil {
		return err
	}
	target := s.val
	if target == nil {
		target = unknownDims(n)
	}
	allowZero := c.n.Int("allowzero", 0) != 0
	dims := make([]sdim, n)
	neg, unk := -1, -1
	nUnk := 0
	for i, e := range target {
		switch {
		case e.unk:
			dims[i] = unknownSize
			unk = i
			nUnk++
		case e.isConstVal(-1):
			if neg >= 0 {
				return c.errorf("shape %s has more than one -1", sizesString(target))
			}
			neg = i
		case e.isConstVal(0) && !allowZero:
			switch {
			case !x.known():
				dims[i] = unknownSize
				nUnk++ // a copied dim: known at run time only
				unk = -2
			case i >= x.rank:
				return c.errorf("shape %s copies dim %d (0) but the input %s has rank %d", sizesString(target), i, x.shapeString(), x.rank)
			default:
				dims[i] = x.dims[i]
			}
		case e.isConst() && e.k < 0:
			return c.errorf("shape %s has invalid dim %d", sizesString(target), e.k)
		case !e.isConst() && e.k <= 0:
			dims[i] = unknownSize
			unk = i
			nUnk++
		default:
			dims[i] = e
		}
	}
	total := x.numel()
	rest := func(skip int) sdim {
		p := cst(1)
		for i, d := range dims {
			if i != skip {
				p = mulSize(p, d)
			}
		}
		return p
	}
	mismatch := func() error {
		return c.errorf("cannot reshape %s (%s elements) to %s", x.shapeString(), total, sizesString(target))
	}
	switch {
	case neg >= 0 && nUnk == 0:
		r := rest(neg)
		if total.isConst() && r.isConst() {
			if r.k == 0 || total.k%r.k != 0 {
				return mismatch()
			}
		}
		if r.isConstVal(0) {
			return mismatch()
		}
		dims[neg] = divSize(total, r)
		if !dims[neg].unk && sizeEqual(mulSize(dims[neg], r), total) == 0 {
			return mismatch()
		}
	case neg >= 0:
		dims[neg] = unknownSize
	case nUnk == 1 && unk >= 0:
		// The one unknown entry is whatever makes the counts agree (be it
		// -1, 0 or the size itself).
		dims[unk] = divSize(total, rest(unk))
	case nUnk == 0:
		if sizeEqual(rest(-1), total) == 0 {
			return mismatch()
		}
	}
	t := shapedT(x.elem, dims)
	if x.val != nil {
		t.withVal(x.val)
	}
	c.set(0, t)
	return nil
}

func flattenOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	if !x.known() {
		c.set(0, shapedT(x.elem, unknownDims(2)))
		return nil
	}
	a := c.n.Int("axis", 1)
	if a < -int64(x.rank) || a > int64(x.rank) {
		return c.errorf("axis %d is out of range for rank %d", a, x.rank)
	}
	if a < 0 {
		a += int64(x.rank)
	}
	dims := []sdim{prodSizes(x.dims[:a]), prodSizes(x.dims[a:])}
	c.set(0, shapedT(x.elem, dims).withVal(x.val))
	return nil
}

func transposeOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	perm := c.n.Ints("perm", nil)
	if !x.known() {
		if perm != nil {
			c.set(0, shapedT(x.elem, unknownDims(len(perm))))
		} else {
			c.set(0, unknownT(x.elem))
		}
		return nil
	}
	perm, err = TransposePerm(c.n, x.rank)
	if err != nil {
		return c.errorf("%v", err)
	}
	dims := make([]sdim, x.rank)
	for i, p := range perm {
		dims[i] = x.dims[p]
	}
	t := shapedT(x.elem, dims)
	if x.val != nil {
		sd, _ := x.staticDims()
		t.withVal(transposeVal(x.val, sd, perm))
	}
	c.set(0, t)
	return nil
}

func transposeVal(val []sdim, sd []int64, perm []int64) []sdim {
	r := len(sd)
	strides := make([]int64, r)
	s := int64(1)
	for i := r - 1; i >= 0; i-- {
		strides[i] = s
		s *= sd[i]
	}
	od := make([]int64, r)
	for i, p := range perm {
		od[i] = sd[p]
	}
	out := make([]sdim, len(val))
	idx := make([]int64, r)
	for flat := range out {
		off := int64(0)
		for i, p := range perm {
			off += idx[i] * strides[p]
		}
		out[flat] = val[off]
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < od[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

func splitOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	nOut := len(c.out)
	if !x.known() {
		c.setAll(unknownT(x.elem))
		return nil
	}
	a, err := c.axis(c.n.Int("axis", 0), x.rank)
	if err != nil {
		return err
	}
	d := x.dims[a]
	sizes := make([]sdim, nOut)
	switch split, given, ok := c.axesArg("split", 1); {
	case given && !ok:
		for i := range sizes {
			sizes[i] = unknownSize
		}
	case given && len(split) > 0:
		if len(split) != nOut {
			return c.errorf("split %v has %d entries for %d outputs", split, len(split), nOut)
		}
		sum := int64(0)
		for i, s := range split {
			if s < 0 {
				return c.errorf("split %v has a negative size", split)
			}
			sizes[i] = cst(s)
			sum += s
		}
		if sizeEqual(cst(sum), d) == 0 {
			return c.errorf("split %v adds up to %d but axis %d has size %s", split, sum, a, d)
		}
	default:
		if nOut == 0 {
			return c.errorf("has no outputs")
		}
		parts := c.n.Int("num_outputs", int64(nOut))
		if parts != int64(nOut) {
			return c.errorf("num_outputs is %d but the node has %d outputs", parts, nOut)
		}
		if d.isConst() && c.n.HasAttr("num_outputs") {
			// opset 18: the last chunk may be smaller.
			chunk := (d.k + parts - 1) / parts
			for i := range sizes {
				sizes[i] = cst(max(min(chunk, d.k-int64(i)*chunk), 0))
			}
			break
		}
		if d.isConst() && d.k%parts != 0 {
			return c.errorf("axis %d of size %d does not split evenly into %d outputs", a, d.k, nOut)
		}
		q := divSize(d, cst(parts))
		for i := range sizes {
			sizes[i] = q
		}
	}
	for i := range sizes {
		dims := append([]sdim(nil), x.dims...)
		dims[a] = sizes[i]
		c.set(i, shapedT(x.elem, dims))
	}
	return nil
}

func sliceOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	var starts, ends []sdim
	var axes, steps []int64
	axesOK, stepsOK := true, true
	if len(c.n.Inputs) == 1 && c.n.HasAttr("starts") {
		// opset 1-9: attributes.
		starts = constDims(c.n.Ints("starts", nil))
		ends = constDims(c.n.Ints("ends", nil))
		axes = c.n.Ints("axes", nil)
	} else {
		st, err := c.input(1)
		if err != nil {
			return err
		}
		en, err := c.input(2)
		if err != nil {
			return err
		}
		n := -1
		for _, t := range []*tinfo{st, en} {
			if t.known() && t.rank != 1 {
				return c.errorf("starts and ends must be 1-D, got %s", t.shapeString())
			}
			if t.known() && t.dims[0].isConst() {
				if n, err = c.rankFrom(1, t.dims[0]); err != nil {
					return err
				}
			}
		}
		starts, ends = st.val, en.val
		if starts == nil && n >= 0 {
			starts = unknownDims(n)
		}
		if ends == nil && n >= 0 {
			ends = unknownDims(n)
		}
		if c.n.In(3) != nil {
			axes, axesOK = c.ints(3)
		}
		if c.n.In(4) != nil {
			steps, stepsOK = c.ints(4)
		}
	}
	if !x.known() {
		c.set(0, unknownT(x.elem))
		return nil
	}
	if starts == nil || ends == nil || !axesOK {
		c.set(0, shapedT(x.elem, unknownDims(x.rank)))
		return nil
	}
	if len(starts) != len(ends) {
		return c.errorf("starts has %d entries but ends %d", len(starts), len(ends))
	}
	if axes == nil {
		axes = make([]int64, len(starts))
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	if len(axes) != len(starts) {
		return c.errorf("axes has %d entries but starts %d", len(axes), len(starts))
	}
	if stepsOK && steps != nil && len(steps) != len(starts) {
		return c.errorf("steps has %d entries but starts %d", len(steps), len(starts))
	}
	if _, err := c.axesSet(axes, x.rank); err != nil {
		return err
	}
	dims := append([]sdim(nil), x.dims...)
	type rng struct{ start, step, n int64 }
	ranges := make([]rng, x.rank)
	static := x.val != nil
	for i := range ranges {
		ranges[i] = rng{0, 1, -1}
	}
	for i, a := range axes {
		ax, _ := c.axis(a, x.rank)
		step := int64(1)
		switch {
		case !stepsOK:
			dims[ax] = unknownSize
			static = false
			continue
		case steps != nil:
			step = steps[i]
		}
		if step == 0 {
			return c.errorf("step for axis %d is 0", a)
		}
		dims[ax] = sliceDim(x.dims[ax], starts[i], ends[i], step)
		if static && starts[i].isConst() && dims[ax].isConst() {
			s := starts[i].k
			d := x.dims[ax].k
			if s < 0 {
				s += d
			}
			if step > 0 {
				s = min(max(s, 0), d)
			} else {
				s = min(max(s, 0), d-1)
			}
			ranges[ax] = rng{s, step, dims[ax].k}
		} else {
			static = false
		}
	}
	t := shapedT(x.elem, dims)
	if static {
		sd, _ := x.staticDims()
		od, _ := t.staticDims()
		total := int64(1)
		for _, d := range od {
			total *= d
		}
		if total <= maxTracked {
			val := make([]sdim, 0, total)
			idx := make([]int64, x.rank)
			for k := int64(0); k < total; k++ {
				off, stride := int64(0), int64(1)
				for d := x.rank - 1; d >= 0; d-- {
					off += (ranges[d].start + idx[d]*ranges[d].step) * stride
					stride *= sd[d]
				}
				val = append(val, x.val[off])
				for d := x.rank - 1; d >= 0; d-- {
					idx[d]++
					if idx[d] < od[d] {
						break
					}
					idx[d] = 0
				}
			}
			t.withVal(val)
		}
	}
	c.set(0, t)
	return nil
}

// sliceDim is the length of x[start:end:step] along a dim of size d. Exact
// for numbers; for a symbolic d it handles the forms exports use: open or
// full ranges, a constant number of elements from the end, bounds that are
// monomials comparable with d, and full reversal.
func sliceDim(d, start, end sdim, step int64) sdim {
	if d.unk || start.unk || end.unk {
		return unknownSize
	}
	if d.isConst() && start.isConst() && end.isConst() {
		_, cnt := SliceAxis(start.k, end.k, step, d.k)
		return cst(cnt)
	}
	// A bound is "from the start" (b ≥ 0, maybe symbolic), "from the end"
	// (d − c for a number c > 0), or the end itself.
	type bound struct {
		kind int // 0 from start, 1 from end, 2 the end
		b    sdim
		c    int64
	}
	classify := func(x sdim) (bound, bool) {
		switch {
		case x.isConst() && x.k >= bigIndex:
			return bound{kind: 2}, true
		case x.isConst() && x.k <= -bigIndex:
			return bound{kind: 0, b: cst(0)}, true
		case x.isConst() && x.k < 0:
			return bound{kind: 1, c: -x.k}, true
		case x.isConst():
			return bound{kind: 0, b: x}, true
		case x.same(d):
			return bound{kind: 2}, true
		case x.k > 0:
			return bound{kind: 0, b: x}, true
		}
		return bound{}, false
	}
	lb, _ := d.lowerBound()
	if step < 0 {
		// Full reversal: start at the last element (or past it), run past
		// the first.
		s, ok := classify(start)
		if ok && (s.kind == 2 || (s.kind == 1 && s.c == 1)) && end.isConst() && end.k <= -bigIndex {
			return floorDivPlus(d, -step-1, -step)
		}
		return unknownSize
	}
	s, ok1 := classify(start)
	e, ok2 := classify(end)
	if !ok1 || !ok2 {
		return unknownSize
	}
	var n sdim
	switch {
	case s.kind == 2:
		n = cst(0)
	case s.kind == 0 && e.kind == 2:
		if sizeLE(d, s.b) {
			n = cst(0)
		} else if sizeLE(s.b, d) {
			n = subSize(d, s.b)
		} else {
			n = unknownSize
		}
	case s.kind == 0 && e.kind == 0:
		switch {
		case sizeLE(e.b, s.b):
			n = cst(0)
		case sizeLE(s.b, e.b) && sizeLE(e.b, d):
			n = subSize(e.b, s.b)
		default:
			n = unknownSize
		}
	case s.kind == 1 && e.kind == 2:
		if s.c <= lb {
			n = cst(s.c)
		} else {
			n = unknownSize
		}
	case s.kind == 1 && e.kind == 1:
		switch {
		case e.c >= s.c:
			n = cst(0)
		case s.c <= lb:
			n = cst(s.c - e.c)
		default:
			n = unknownSize
		}
	default: // from the start to d − c: d − c − b is not a monomial
		n = unknownSize
	}
	if step == 1 || n.unk {
		return n
	}
	return floorDivPlus(n, step-1, step)
}

func expandOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	s, err := c.input(1)
	if err != nil {
		return err
	}
	if s.known() && s.rank != 1 {
		return c.errorf("shape input has rank %d, want 1", s.rank)
	}
	if !s.known() || !s.dims[0].isConst() || !x.known() {
		c.set(0, unknownT(x.elem))
		return nil
	}
	target := s.val
	if target == nil {
		n, err := c.rankFrom(1, s.dims[0])
		if err != nil {
			return err
		}
		target = unknownDims(n)
	}
	for _, e := range target {
		if e.isConst() && e.k < 0 {
			return c.errorf("shape %s has a negative dim", sizesString(target))
		}
	}
	tt := shapedT(x.elem, target)
	dims, _, err := c.broadcastDims(x, tt)
	if err != nil {
		return err
	}
	t := shapedT(x.elem, dims)
	if x.val != nil {
		t.withVal(broadcastVal(dims, func(ix []int) sdim { return x.val[ix[0]] }, x))
	}
	c.set(0, t)
	return nil
}

func tileOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	rep, err := c.input(1)
	if err != nil {
		return err
	}
	if !x.known() {
		c.set(0, unknownT(x.elem))
		return nil
	}
	if rep.val == nil {
		c.set(0, shapedT(x.elem, unknownDims(x.rank)))
		return nil
	}
	if len(rep.val) != x.rank {
		return c.errorf("repeats has %d entries for an input of rank %d", len(rep.val), x.rank)
	}
	dims := make([]sdim, x.rank)
	for i, d := range x.dims {
		if rep.val[i].isConst() && rep.val[i].k < 0 {
			return c.errorf("repeats %s has a negative entry", sizesString(rep.val))
		}
		dims[i] = mulSize(d, rep.val[i])
	}
	c.set(0, shapedT(x.elem, dims))
	return nil
}

func constantOfShapeOp(c *nodeCtx) error {
	s, err := c.input(0)
	if err != nil {
		return err
	}
	elem := Float32
	var fill []sdim
	if v := c.n.TensorAttr("value"); v != nil {
		elem = v.DType
		if n := v.Len(); n != 1 {
			return c.errorf("value attribute has %d elements, want 1", n)
		}
		fill = tensorVal(v)
	} else {
		fill = constVal(0)
	}
	if s.known() && s.rank != 1 {
		return c.errorf("shape input has rank %d, want 1", s.rank)
	}
	if !s.known() || !s.dims[0].isConst() {
		c.set(0, unknownT(elem))
		return nil
	}
	dims := s.val
	if dims == nil {
		n, err := c.rankFrom(0, s.dims[0])
		if err != nil {
			return err
		}
		dims = unknownDims(n)
	}
	for _, d := range dims {
		if d.isConst() && d.k < 0 {
			return c.errorf("shape %s has a negative dim", sizesString(dims))
		}
	}
	t := shapedT(elem, dims)
	if fill != nil {
		if n := t.numel(); n.isConst() && n.k <= maxTracked {
			val := make([]sdim, n.k)
			for i := range val {
				val[i] = fill[0]
			}
			t.withVal(val)
		}
	}
	c.set(0, t)
	return nil
}

func rangeOp(c *nodeCtx) error {
	var ts [3]*tinfo
	for i := range ts {
		t, err := c.input(i)
		if err != nil {
			return err
		}
		if t.known() && t.rank != 0 {
			return c.errorf("input %d has shape %s, want a scalar", i, t.shapeString())
		}
		ts[i] = t
	}
	elem, err := c.sameElem(ts[:]...)
	if err != nil {
		return err
	}
	out := shapedT(elem, []sdim{unknownSize})
	if elem.IsFloat() {
		var f [3]float64
		for i := range f {
			x, ok := c.floats(i)
			if !ok || len(x) != 1 {
				c.set(0, out)
				return nil
			}
			f[i] = x[0]
		}
		if f[2] == 0 {
			return c.errorf("delta is 0")
		}
		n := math.Ceil((f[1] - f[0]) / f[2])
		if n >= 0 && n < math.MaxInt32 {
			out.dims[0] = cst(int64(n))
		} else if n < 0 {
			out.dims[0] = cst(0)
		}
		c.set(0, out)
		return nil
	}
	var v [3]sdim
	for i := range v {
		v[i] = unknownSize
		if ts[i].val != nil {
			v[i] = ts[i].val[0]
		}
	}
	start, limit, delta := v[0], v[1], v[2]
	switch {
	case delta.isConstVal(0):
		return c.errorf("delta is 0")
	case start.isConst() && limit.isConst() && delta.isConst():
		span := limit.k - start.k
		var n int64
		if (span > 0) == (delta.k > 0) && span != 0 {
			n = (abs64(span) + abs64(delta.k) - 1) / abs64(delta.k)
		}
		out.dims[0] = cst(n)
		if n <= maxTracked {
			val := make([]sdim, n)
			for i := range val {
				val[i] = cst(start.k + int64(i)*delta.k)
			}
			out.withVal(val)
		}
	case delta.isConst() && delta.k > 0:
		// (limit − start) / delta rounded up, when it is a monomial.
		span := subSize(limit, start)
		if sizeLE(cst(0), span) {
			out.dims[0] = floorDivPlus(span, delta.k-1, delta.k)
		}
	}
	c.set(0, out)
	return nil
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func padOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	if !x.known() {
		c.set(0, unknownT(x.elem))
		return nil
	}
	var pads []sdim
	if c.n.In(1) != nil {
		p := c.in(1)
		if p.known() && p.rank != 1 {
			return c.errorf("pads input has rank %d, want 1", p.rank)
		}
		pads = p.val
	} else if c.n.HasAttr("pads") {
		pads = constDims(c.n.Ints("pads", nil))
	} else {
		return c.errorf("has no pads")
	}
	axes := make([]int64, x.rank)
	for i := range axes {
		axes[i] = int64(i)
	}
	if c.n.In(3) != nil {
		a, ok := c.ints(3)
		if !ok {
			c.set(0, shapedT(x.elem, unknownDims(x.rank)))
			return nil
		}
		axes = a
	}
	if pads == nil {
		dims := append([]sdim(nil), x.dims...)
		for _, a := range axes {
			ax, err := c.axis(a, x.rank)
			if err != nil {
				return err
			}
			dims[ax] = unknownSize
		}
		c.set(0, shapedT(x.elem, dims))
		return nil
	}
	if len(pads) != 2*len(axes) {
		return c.errorf("pads %s has %d entries, want %d (2 per padded axis)", sizesString(pads), len(pads), 2*len(axes))
	}
	if _, err := c.axesSet(axes, x.rank); err != nil {
		return err
	}
	dims := append([]sdim(nil), x.dims...)
	for i, a := range axes {
		ax, _ := c.axis(a, x.rank)
		d := addSize(addSize(x.dims[ax], pads[i]), pads[i+len(axes)])
		if d.isConst() && d.k < 0 {
			return c.errorf("pads %s make axis %d of size %s negative", sizesString(pads), ax, x.dims[ax])
		}
		dims[ax] = d
	}
	c.set(0, shapedT(x.elem, dims))
	return nil
}

func castOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	if !c.n.HasAttr("to") {
		return c.errorf("has no 'to' attribute")
	}
	to := DType(c.n.Int("to", 0))
	if !to.Known() {
		return c.errorf("'to' is %d, not an element type", int64(to))
	}
	t := &tinfo{elem: to, rank: x.rank, dims: x.dims}
	if x.val != nil && trackable(to) {
		val := make([]sdim, len(x.val))
		for i, a := range x.val {
			val[i] = a
			if to == Bool {
				switch lb, ok := a.lowerBound(); {
				case a.isConst():
					val[i] = cst(b2i(a.k != 0))
				case ok && lb > 0:
					val[i] = cst(1)
				default:
					val[i] = unknownSize
				}
			}
		}
		t.val = val
	}
	c.set(0, t)
	return nil
}

func castLikeOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	like, err := c.input(1)
	if err != nil {
		return err
	}
	c.set(0, &tinfo{elem: like.elem, rank: x.rank, dims: x.dims})
	return nil
}

func resizeOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	if !x.known() {
		c.set(0, unknownT(x.elem))
		return nil
	}
	scalesIdx, sizesIdx := 2, 3
	if c.n.OpType == "Upsample" || c.opset < 11 {
		scalesIdx, sizesIdx = 1, -1
	}
	present := func(i int) bool {
		if i < 0 || c.n.In(i) == nil {
			return false
		}
		t := c.in(i)
		return !(t.known() && t.rank == 1 && t.dims[0].isConstVal(0))
	}
	axes := make([]int64, x.rank)
	for i := range axes {
		axes[i] = int64(i)
	}
	if a := c.n.Ints("axes", nil); a != nil {
		axes = a
	}
	if _, err := c.axesSet(axes, x.rank); err != nil {
		return err
	}
	dims := append([]sdim(nil), x.dims...)
	crop := c.n.String("coordinate_transformation_mode", "") == "tf_crop_and_resize"
	switch {
	case present(sizesIdx):
		sizes := c.in(sizesIdx).val
		if sizes != nil && len(sizes) != len(axes) {
			return c.errorf("sizes has %d entries for %d axes", len(sizes), len(axes))
		}
		policy := c.n.String("keep_aspect_ratio_policy", "stretch")
		for i, a := range axes {
			ax, _ := c.axis(a, x.rank)
			if sizes == nil || policy != "stretch" {
				dims[ax] = unknownSize
			} else {
				dims[ax] = sizes[i]
			}
		}
	case present(scalesIdx) || c.n.HasAttr("scales"):
		var scales []float64
		ok := true
		if present(scalesIdx) {
			scales, ok = c.floats(scalesIdx)
		} else {
			for _, f := range c.n.Floats("scales", nil) {
				scales = append(scales, float64(f))
			}
		}
		if ok && len(scales) != len(axes) {
			return c.errorf("scales has %d entries for %d axes", len(scales), len(axes))
		}
		for i, a := range axes {
			ax, _ := c.axis(a, x.rank)
			if !ok || crop {
				dims[ax] = unknownSize
				continue
			}
			dims[ax] = scaleSize(x.dims[ax], scales[i])
		}
	default:
		return c.errorf("has neither scales nor sizes")
	}
	c.set(0, shapedT(x.elem, dims))
	return nil
}

// scaleSize is floor(d·s).
func scaleSize(d sdim, s float64) sdim {
	switch {
	case d.unk || s < 0 || math.IsNaN(s) || math.IsInf(s, 0):
		return unknownSize
	case d.isConst():
		return cst(int64(math.Floor(float64(d.k) * s)))
	case s == math.Trunc(s):
		return mulSize(d, cst(int64(s)))
	case s > 0 && 1/s == math.Trunc(1/s):
		return floorDivConst(d, int64(1/s))
	}
	return unknownSize
}

func depthToSpaceOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	if !x.known() {
		c.set(0, shapedT(x.elem, unknownDims(4)))
		return nil
	}
	if x.rank != 4 {
		return c.errorf("input %s is not 4-D", x.shapeString())
	}
	b := c.n.Int("blocksize", 0)
	if b <= 0 {
		return c.errorf("blocksize %d is not positive", b)
	}
	bb := cst(b * b)
	dims := append([]sdim(nil), x.dims...)
	if c.n.OpType == "DepthToSpace" {
		if d := x.dims[1]; d.isConst() && d.k%(b*b) != 0 {
			return c.errorf("channels %d are not a multiple of blocksize² = %d", d.k, b*b)
		}
		dims[1] = divSize(x.dims[1], bb)
		dims[2], dims[3] = mulSize(x.dims[2], cst(b)), mulSize(x.dims[3], cst(b))
	} else {
		for _, i := range []int{2, 3} {
			if d := x.dims[i]; d.isConst() && d.k%b != 0 {
				return c.errorf("dim %d of size %d is not a multiple of blocksize %d", i, d.k, b)
			}
		}
		dims[1] = mulSize(x.dims[1], bb)
		dims[2], dims[3] = divSize(x.dims[2], cst(b)), divSize(x.dims[3], cst(b))
	}
	c.set(0, shapedT(x.elem, dims))
	return nil
}

func oneHotOp(c *nodeCtx) error {
	idx, err := c.input(0)
	if err != nil {
		return err
	}
	depth, err := c.input(1)
	if err != nil {
		return err
	}
	vals, err := c.input(2)
	if err != nil {
		return err
	}
	if !idx.known() {
		c.set(0, unknownT(vals.elem))
		return nil
	}
	r := idx.rank + 1
	a, err := c.axis(c.n.Int("axis", -1), r)
	if err != nil {
		return err
	}
	d := unknownSize
	if depth.val != nil && len(depth.val) == 1 {
		d = depth.val[0]
	}
	dims := make([]sdim, 0, r)
	dims = append(append(append(dims, idx.dims[:a]...), d), idx.dims[a:]...)
	c.set(0, shapedT(vals.elem, dims))
	return nil
}

func nonZeroOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	r := unknownSize
	if x.known() {
		r = cst(int64(x.rank))
	}
	c.set(0, shapedT(Int64, []sdim{r, unknownSize}))
	return nil
}

func compressOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	if !c.n.HasAttr("axis") {
		c.set(0, shapedT(x.elem, []sdim{unknownSize}))
		return nil
	}
	if !x.known() {
		c.set(0, unknownT(x.elem))
		return nil
	}
	a, err := c.axis(c.n.Int("axis", 0), x.rank)
	if err != nil {
		return err
	}
	dims := append([]sdim(nil), x.dims...)
	dims[a] = unknownSize
	c.set(0, shapedT(x.elem, dims))
	return nil
}

func eyeLikeOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	if x.known() && x.rank != 2 {
		return c.errorf("input %s is not 2-D", x.shapeString())
	}
	elem := DType(c.n.Int("dtype", int64(x.elem)))
	c.set(0, &tinfo{elem: elem, rank: x.rank, dims: x.dims})
	return nil
}

func topKOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	if !x.known() {
		c.set(0, unknownT(x.elem))
		c.set(1, unknownT(Int64))
		return nil
	}
	a, err := c.axis(c.n.Int("axis", -1), x.rank)
	if err != nil {
		return err
	}
	k := unknownSize
	if c.n.In(1) != nil {
		if kt := c.in(1); kt.val != nil && len(kt.val) == 1 {
			k = kt.val[0]
		}
	} else if c.n.HasAttr("k") {
		k = cst(c.n.Int("k", 0))
	}
	if k.isConst() && x.dims[a].isConst() && (k.k < 0 || k.k > x.dims[a].k) {
		return c.errorf("k = %d is out of range for axis %d of size %d", k.k, a, x.dims[a].k)
	}
	dims := append([]sdim(nil), x.dims...)
	dims[a] = k
	c.set(0, shapedT(x.elem, dims))
	c.set(1, shapedT(Int64, dims))
	return nil
}

func argOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	if !x.known() {
		c.set(0, unknownT(Int64))
		return nil
	}
	a, err := c.axis(c.n.Int("axis", 0), x.rank)
	if err != nil {
		return err
	}
	c.set(0, shapedT(Int64, reduceDims(x.dims, []int{a}, KeepDims(c.n))))
	return nil
}

func reduceDims(dims []sdim, axes []int, keep bool) []sdim {
	set := make([]bool, len(dims))
	for _, a := range axes {
		set[a] = true
	}
	out := make([]sdim, 0, len(dims))
	for i, d := range dims {
		switch {
		case !set[i]:
			out = append(out, d)
		case keep:
			out = append(out, cst(1))
		}
	}
	return out
}

func reduceOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	keep := KeepDims(c.n)
	axes, given, ok := c.axesArg("axes", 1)
	if !x.known() {
		c.set(0, unknownT(x.elem))
		return nil
	}
	if !ok {
		if keep {
			c.set(0, shapedT(x.elem, unknownDims(x.rank)))
		} else {
			c.set(0, unknownT(x.elem))
		}
		return nil
	}
	set, err := ReducedAxes(c.n, x.rank, axes, given)
	if err != nil {
		return c.errorf("%v", err)
	}
	var all []int
	for i, s := range set {
		if s {
			all = append(all, i)
		}
	}
	if len(all) == 0 { // noop_with_empty_axes
		c.set(0, x)
		return nil
	}
	t := shapedT(x.elem, reduceDims(x.dims, all, keep))
	if x.val != nil && len(all) == x.rank && (c.n.OpType == "ReduceProd" || c.n.OpType == "ReduceSum") {
		acc := cst(1)
		if c.n.OpType == "ReduceSum" {
			acc = cst(0)
		}
		for _, v := range x.val {
			if c.n.OpType == "ReduceProd" {
				acc = mulSize(acc, v)
			} else {
				acc = addSize(acc, v)
			}
		}
		t.withVal([]sdim{acc})
	}
	c.set(0, t)
	return nil
}

func randomOp(c *nodeCtx) error {
	shape := c.n.Ints("shape", nil)
	if shape == nil {
		return c.errorf("has no shape attribute")
	}
	for _, d := range shape {
		if d < 0 {
			return c.errorf("shape %v has a negative dim", shape)
		}
	}
	c.set(0, shapedT(DType(c.n.Int("dtype", int64(Float32))), constDims(shape)))
	return nil
}

func quantizeOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	elem := Float32
	if c.n.OpType == "QuantizeLinear" {
		elem = Uint8
		if zp := c.in(2); zp != nil && zp.elem != Undefined {
			elem = zp.elem
		}
		if od := c.n.Int("output_dtype", 0); od != 0 {
			elem = DType(od)
		}
	} else if s := c.in(1); s != nil && s.elem != Undefined && c.opset >= 19 {
		elem = s.elem
	}
	c.set(0, &tinfo{elem: elem, rank: x.rank, dims: x.dims})
	return nil
}

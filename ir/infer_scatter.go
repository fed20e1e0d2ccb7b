package ir

// ScatterND and ScatterElements (Scatter before opset 11): the output is
// data's shape; indices and updates must fit it.

// scatterInputs returns data, indices and updates; updates must be of
// data's element type.
func scatterInputs(c *nodeCtx) (data, idx, upd *tinfo, err error) {
	if data, err = c.input(0); err != nil {
		return
	}
	if idx, err = c.input(1); err != nil {
		return
	}
	if upd, err = c.input(2); err != nil {
		return
	}
	if idx.elem != Undefined && idx.elem != Int64 && idx.elem != Int32 {
		return nil, nil, nil, c.errorf("indices are %s, want int32 or int64", idx.elem)
	}
	if data.elem != Undefined && upd.elem != Undefined && data.elem != upd.elem {
		return nil, nil, nil, c.errorf("updates are %s, data %s", upd.elem, data.elem)
	}
	c.set(0, &tinfo{elem: data.elem, rank: data.rank, dims: data.dims})
	return data, idx, upd, nil
}

// scatterNDOp: indices [q−1 dims…, k] address k-tuples of data's first k
// dims (1 ≤ k ≤ rank); updates are indices' leading dims then data's after
// the first k.
func scatterNDOp(c *nodeCtx) error {
	data, idx, upd, err := scatterInputs(c)
	if err != nil || !idx.known() {
		return err
	}
	q := idx.rank
	if q < 1 {
		return c.errorf("indices %s must have rank ≥ 1", idx)
	}
	kd := idx.dims[q-1]
	if !data.known() || !kd.isConst() {
		return nil
	}
	k := int(kd.k)
	if k < 1 || k > data.rank {
		return c.errorf("indices %s: the last dimension (%d) must be in [1, %d] for data %s", idx, k, data.rank, data)
	}
	want := append(append([]sdim{}, idx.dims[:q-1]...), data.dims[k:]...)
	if !upd.known() {
		return nil
	}
	if upd.rank != len(want) {
		return c.errorf("updates %s: want %s for indices %s and data %s", upd, sizesString(want), idx, data)
	}
	for i, w := range want {
		if err := c.checkDim(upd.dims[i], w, "updates %s: want %s for indices %s and data %s", upd, sizesString(want), idx, data); err != nil {
			return err
		}
	}
	return nil
}

// scatterElementsOp: indices and updates share one shape, of data's rank
// and no larger than data outside axis.
func scatterElementsOp(c *nodeCtx) error {
	data, idx, upd, err := scatterInputs(c)
	if err != nil || !data.known() {
		return err
	}
	ax, err := c.axis(c.n.Int("axis", 0), data.rank)
	if err != nil {
		return err
	}
	for _, t := range []*tinfo{idx, upd} {
		if t.known() && t.rank != data.rank {
			return c.errorf("indices %s and updates %s must have the same shape and data %s's rank", idx, upd, data)
		}
	}
	if idx.known() && upd.known() {
		for d := range idx.dims {
			if err := c.checkDim(upd.dims[d], idx.dims[d], "indices %s and updates %s must have the same shape and data %s's rank", idx, upd, data); err != nil {
				return err
			}
		}
	}
	if idx.known() {
		for d, n := range idx.dims {
			if d != ax && n.isConst() && data.dims[d].isConst() && n.k > data.dims[d].k {
				return c.errorf("indices %s exceed data %s on axis %d", idx, data, d)
			}
		}
	}
	return nil
}

package exec

import (
	"errors"
	"fmt"
)

// Dropout. Eval: y = x. Train: y = x·m/(1−p) with m ~ Bernoulli(1−p)
// → dx = dy·m/(1−p). The mask of element i is a hash of (Options.Seed,
// the Run step counter, the node, i): the same seed gives the same bits on
// any number of threads, and no mask needs to be stored for Backward.
//
// p is Options.DropoutRatio when OverrideDropout is set (nntrain --dropout;
// 0 turns dropout off), else the node's ratio input (opset ≥ 12) or
// attribute, default 0.5. An explicit training_mode input that is false
// keeps the node in eval behaviour even in Train mode.

func registerDropout[T Float](m map[string]opDef[T]) {
	m["Dropout"] = opDef[T]{plan: planDropout[T], modal: true}
}

// splitmix64's finalizer: a bijective 64-bit mix.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// keep is 1 if element i survives, else 0, for drop probability p given as
// a 53-bit threshold: u = hash>>11 is uniform on [0, 2⁵³), kept iff u ≥ p·2⁵³.
// Branch-free: the outcome is random, a branch would mispredict half the time.
func keep(key uint64, i int, thresh uint64) uint64 {
	u := mix64(key+uint64(i)*0x9e3779b97f4a7c15) >> 11
	return 1 + uint64(int64(u-thresh)>>63)
}

func planDropout[T Float](c *nodeCtx[T]) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	ratioIn, modeIn := c.input(1), c.input(2)
	if ratioIn != nil && (ratioIn.kind != kFloat || ratioIn.size != 1) {
		return fmt.Errorf("ratio (input 1, %s) must be a float scalar", ratioIn.name)
	}
	if modeIn != nil && modeIn.size != 1 {
		return errors.New("training_mode (input 2) must be a scalar")
	}
	attrRatio := float64(c.n.Float("ratio", 0.5))
	y := c.output(0, kFloat, x.shape)
	var mask *tensor[T]
	if len(c.out) > 1 {
		if c.used(1) {
			mask = c.output(1, kBool, x.shape)
		} else {
			mask = &tensor[T]{kind: kBool, shape: x.shape}
			c.out[1] = mask
		}
		mask.nograd = true
	}
	// state of the last forward, for Backward
	var (
		active bool
		key    uint64
		thresh uint64
		scale  T
	)
	id := uint64(c.id)
	fwd := func(lo, hi int) {
		xs, ys := x.f[lo:hi], y.f[lo:hi]
		for i, v := range xs {
			ys[i] = v * scale * T(keep(key, lo+i, thresh)) // as PyTorch: x·(mask/(1−p))
		}
		if mask != nil && mask.i != nil {
			for i := lo; i < hi; i++ {
				mask.i[i] = int64(keep(key, i, thresh))
			}
		}
	}
	c.fwd = func(rc *runCtx) error {
		p := attrRatio
		if ratioIn != nil {
			p = float64(ratioIn.f[0])
		}
		if rc.override {
			p = float64(rc.ratio)
		}
		if p < 0 || p > 1 {
			return fmt.Errorf("dropout ratio %g is outside [0, 1]", p)
		}
		active = rc.mode == Train && p > 0 && (modeIn == nil || modeIn.i[0] != 0)
		if !active {
			copy(y.f, x.f)
			if mask != nil {
				for i := range mask.i {
					mask.i[i] = 1
				}
			}
			return nil
		}
		key = mix64(rc.seed ^ mix64(rc.step^mix64(id+0x632be59bd9b4e019)))
		thresh = uint64(p * (1 << 53))
		if p < 1 {
			scale = T(1 / (1 - p))
		} else {
			scale = 0
		}
		c.par(x.size, fwd)
		return nil
	}
	bwd := func(lo, hi int) {
		gs, dys := x.g[lo:hi], y.g[lo:hi]
		for i, d := range dys {
			gs[i] += d * scale * T(keep(key, lo+i, thresh))
		}
	}
	c.bwd = func() {
		if x.g == nil {
			return
		}
		if !active {
			for i, g := range y.g {
				x.g[i] += g
			}
			return
		}
		c.par(x.size, bwd)
	}
	return nil
}

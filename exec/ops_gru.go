package exec

import (
	"fmt"
	"math"

	"github.com/nnkit/nnkit/ir"
)

// GRU (ONNX gate order z, r, h) and RNN (Tanh or Relu), forward, reverse
// or bidirectional, with backpropagation through time. X·Wᵀ + Wb is one
// GEMM over all steps; each step adds Hₜ₋₁·Rᵀ + Rb.
//
// GRU, with a_z, a_r, a_h the pre-activations:
//
//	z = σ(a_z), r = σ(a_r)
//	linear_before_reset = 1 (PyTorch's nn.GRU): h̃ = tanh(Xₜ·W_hᵀ + Wb_h + r⊙(Hₜ₋₁·R_hᵀ + Rb_h))
//	linear_before_reset = 0:                    h̃ = tanh(Xₜ·W_hᵀ + Wb_h + (r⊙Hₜ₋₁)·R_hᵀ + Rb_h)
//	Hₜ = (1−z)⊙h̃ + z⊙Hₜ₋₁
//	→ dh̃ = dHₜ⊙(1−z), dz = dHₜ⊙(Hₜ₋₁−h̃), dHₜ₋₁ ∋ dHₜ⊙z, da_h = dh̃⊙(1−h̃²),
//	  da_z = dz⊙z(1−z), da_r = dr⊙r(1−r) with dr = da_h⊙(Hₜ₋₁·R_hᵀ + Rb_h) (lbr 1)
//	  or dr = (da_h·R_h)⊙Hₜ₋₁ (lbr 0); the recurrent side gets da_h⊙r (lbr 1).
//
// RNN: Hₜ = f(Xₜ·Wᵀ + Hₜ₋₁·Rᵀ + Wb + Rb) → da = dHₜ⊙f′, dHₜ₋₁ = da·R.
//
// Weights and biases get dW = Σ daᵀ·Xₜ, dR = Σ da_recᵀ·(Hₜ₋₁ or r⊙Hₜ₋₁),
// dWb = Σ da, dRb = Σ da_rec; dX = da·W.
//
// sequence_lens works as for LSTM: past a sequence's end the state carries
// over, Y is 0 and dH passes straight through.

func registerGRU[T Float](m map[string]opDef[T]) {
	m["GRU"] = opDef[T]{plan: planGRU[T], check: checkGRU}
	m["RNN"] = opDef[T]{plan: planGRU[T], check: checkGRU}
}

// rnnActs returns the RNN's per-direction activation (Tanh or Relu).
func rnnActs(n *ir.Node, D int) ([]string, error) {
	acts := n.Strs("activations", nil)
	if acts == nil {
		acts = []string{"Tanh", "Tanh"}
	}
	if len(acts) < D {
		return nil, fmt.Errorf("activations %v: want %d", acts, D)
	}
	for _, a := range acts[:D] {
		if a != "Tanh" && a != "Relu" {
			return nil, fmt.Errorf("activations %v (only Tanh and Relu)", acts)
		}
	}
	return acts[:D], nil
}

func checkGRU(n *ir.Node, _ int64) error {
	ra, err := ir.RecurrentAttrs(n)
	if err != nil {
		return err
	}
	if n.OpType == "RNN" {
		if _, err := rnnActs(n, ra.Directions); err != nil {
			return err
		}
		return checkGates(n, 0)
	}
	return checkGates(n, 2)
}

func planGRU[T Float](c *nodeCtx[T]) error {
	if ra, err := ir.RecurrentAttrs(c.n); err == nil && ra.BatchFirst {
		return withLayout1(c, []int{5}, planGRUCore[T])
	}
	return planGRUCore(c)
}

func planGRUCore[T Float](c *nodeCtx[T]) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	w, err := c.need(1, kFloat)
	if err != nil {
		return err
	}
	rw, err := c.need(2, kFloat)
	if err != nil {
		return err
	}
	gru := c.n.OpType == "GRU"
	ra, err := ir.RecurrentAttrs(c.n)
	if err != nil {
		return err
	}
	nG, D := ra.Gates, ra.Directions
	b, seqLens, h0 := c.input(3), c.input(4), c.input(5)
	var acts []string
	if !gru {
		if acts, err = rnnActs(c.n, D); err != nil {
			return err
		}
	}
	lbr := c.n.Int("linear_before_reset", 0) != 0
	if len(x.shape) != 3 {
		return fmt.Errorf("X %s must be [seq, batch, input]", shapeStr(x.shape))
	}
	Tn, N, I := x.shape[0], x.shape[1], x.shape[2]
	H := int(ra.HiddenSize)
	if H <= 0 && len(w.shape) == 3 {
		H = w.shape[1] / nG
	}
	G := nG * H
	if H <= 0 || !sameShape(w.shape, []int{D, G, I}) || !sameShape(rw.shape, []int{D, G, H}) {
		return fmt.Errorf("W %s and R %s do not match hidden_size %d, %d direction(s) and input %s", shapeStr(w.shape), shapeStr(rw.shape), H, D, shapeStr(x.shape))
	}
	if b != nil && (b.kind != kFloat || !sameShape(b.shape, []int{D, 2 * G})) {
		return fmt.Errorf("B %s: want [%d %d]", shapeStr(b.shape), D, 2*G)
	}
	if h0 != nil && (h0.kind != kFloat || !sameShape(h0.shape, []int{D, N, H})) {
		return fmt.Errorf("initial_h %s: want [%d %d %d]", shapeStr(h0.shape), D, N, H)
	}
	if seqLens != nil && (seqLens.kind == kFloat || seqLens.size != N) {
		return fmt.Errorf("sequence_lens %s: want [%d] integers", shapeStr(seqLens.shape), N)
	}
	var y, yh *tensor[T] // Y [T D N H], Y_h [D N H]
	for j, t := range []**tensor[T]{&y, &yh} {
		shape, err := c.inferredOr(j, recurrentScratch(j, Tn, D, N, H))
		if err != nil {
			return err
		}
		*t = c.output(j, kFloat, shape)
	}
	NH := N * H
	type state struct {
		act  []T // [T, N, G]: pre-activations X·Wᵀ + Wb, then the gate values (z, r, h̃ / h)
		aux  []T // GRU [T, N, H]: Hₜ₋₁·R_hᵀ + Rb_h (lbr 1) or r⊙Hₜ₋₁ (lbr 0)
		rec  []T // [N, G] recurrent pre-activations of one step
		dz   []T // [T, N, G] gradients of the input-side pre-activations
		drec []T // [N, G] gradients of the recurrent-side pre-activations
		dh   []T // [N, H]
		tmp  []T // [N, H]
		hs   []T // [T, N, H] hidden states, with sequence_lens (Y is 0 past a sequence's end)
		zero []T
	}
	st := make([]state, D)
	for d := range st {
		st[d] = state{act: make([]T, Tn*N*G), rec: make([]T, N*G), zero: make([]T, NH)}
		if gru {
			st[d].aux = make([]T, Tn*NH)
		}
		if seqLens != nil {
			st[d].hs = make([]T, Tn*NH)
		}
	}
	// valid(t, n): step t is inside sequence n (always, without sequence_lens)
	valid := func(t, n int) bool { return seqLens == nil || int64(t) < seqLens.i[n] }
	mm := c.e.mm
	order := func(d, s int) int {
		if d == 1 || ra.Reverse {
			return Tn - 1 - s
		}
		return s
	}
	// hAt is the hidden state after step t: Y itself, or (sequence_lens)
	// the state that past a sequence's end carries the last valid one
	hAt := func(d, t int) []T {
		if seqLens != nil {
			return st[d].hs[t*NH : (t+1)*NH]
		}
		return y.f[(t*D+d)*NH : (t*D+d+1)*NH]
	}
	carry := func(t int, ht, hPrev []T) {
		if seqLens == nil {
			return
		}
		for n := 0; n < N; n++ {
			if !valid(t, n) {
				copy(ht[n*H:(n+1)*H], hPrev[n*H:(n+1)*H])
			}
		}
	}
	hInit := func(d int, z []T) []T {
		if h0 == nil {
			return z
		}
		return h0.f[d*NH : (d+1)*NH]
	}
	relu := func(d int) bool { return !gru && acts[d] == "Relu" }
	// clip bounds the input of every activation (z, r, h̃; RNN's f) to
	// [−clip, clip], as ONNX Runtime computes; a clipped input passes no
	// gradient. clipped[d][(t·N+n)·G+gate·H+k] records which.
	gc := newGateClip[T](c.n, D, Tn*N*G)
	cl, passes := gc.clip, gc.pass
	c.fwd = func(*runCtx) error {
		if seqLens != nil {
			for _, l := range seqLens.i {
				if l < 0 || l > int64(Tn) {
					return fmt.Errorf("sequence_lens %v: lengths must be in [0, %d]", seqLens.i, Tn)
				}
			}
		}
		for d := 0; d < D; d++ {
			s := &st[d]
			wd, rd := w.f[d*G*I:(d+1)*G*I], rw.f[d*G*H:(d+1)*G*H]
			var wb, rb []T
			if b != nil {
				wb, rb = b.f[d*2*G:d*2*G+G], b.f[d*2*G+G:(d+1)*2*G]
			}
			mm.gemm(false, true, Tn*N, G, I, 1, x.f, I, wd, I, 0, s.act, G)
			if wb != nil {
				for r := 0; r < Tn*N; r++ {
					add(s.act[r*G:(r+1)*G], wb)
				}
			}
			hPrev := hInit(d, s.zero)
			for step := 0; step < Tn; step++ {
				t := order(d, step)
				a := s.act[t*N*G : (t+1)*N*G]
				ht := hAt(d, t)
				// recurrent pre-activations: all gates (GRU lbr 1, RNN), or z and r only
				nRec := G
				if gru && !lbr {
					nRec = 2 * H
				}
				mm.gemm(false, true, N, nRec, H, 1, hPrev, H, rd, H, 0, s.rec, G)
				if rb != nil {
					for n := 0; n < N; n++ {
						add(s.rec[n*G:n*G+nRec], rb[:nRec])
					}
				}
				if !gru {
					for n := 0; n < N; n++ {
						ar, rr := a[n*G:(n+1)*G], s.rec[n*G:(n+1)*G]
						for k := 0; k < H; k++ {
							v := cl(d, (t*N+n)*G+k, ar[k]+rr[k])
							if relu(d) {
								v = max(v, 0)
							} else {
								v = T(math.Tanh(float64(v)))
							}
							ar[k], ht[n*H+k] = v, v
						}
					}
					carry(t, ht, hPrev)
					hPrev = ht
					continue
				}
				aux := s.aux[t*NH : (t+1)*NH]
				for n := 0; n < N; n++ {
					ar, rr := a[n*G:(n+1)*G], s.rec[n*G:(n+1)*G]
					at := (t*N + n) * G
					for k := 0; k < H; k++ {
						ar[k] = T(sigmoid64(float64(cl(d, at+k, ar[k]+rr[k]))))
						ar[H+k] = T(sigmoid64(float64(cl(d, at+H+k, ar[H+k]+rr[H+k]))))
					}
				}
				if lbr {
					for n := 0; n < N; n++ {
						ar, rr := a[n*G:(n+1)*G], s.rec[n*G:(n+1)*G]
						for k := 0; k < H; k++ {
							aux[n*H+k] = rr[2*H+k]
							ar[2*H+k] = T(math.Tanh(float64(cl(d, (t*N+n)*G+2*H+k, ar[2*H+k]+ar[H+k]*rr[2*H+k]))))
						}
					}
				} else {
					for n := 0; n < N; n++ {
						for k := 0; k < H; k++ {
							aux[n*H+k] = a[n*G+H+k] * hPrev[n*H+k]
						}
					}
					// (r⊙Hₜ₋₁)·R_hᵀ (+ Rb_h) into the h columns of rec
					mm.gemm(false, true, N, H, H, 1, aux, H, rd[2*H*H:], H, 0, s.rec[2*H:], G)
					for n := 0; n < N; n++ {
						ar, rr := a[n*G:(n+1)*G], s.rec[n*G:(n+1)*G]
						for k := 0; k < H; k++ {
							v := ar[2*H+k] + rr[2*H+k]
							if rb != nil {
								v += rb[2*H+k]
							}
							ar[2*H+k] = T(math.Tanh(float64(cl(d, (t*N+n)*G+2*H+k, v))))
						}
					}
				}
				for n := 0; n < N; n++ {
					ar := a[n*G : (n+1)*G]
					for k := 0; k < H; k++ {
						z := ar[k]
						ht[n*H+k] = (1-z)*ar[2*H+k] + z*hPrev[n*H+k]
					}
				}
				carry(t, ht, hPrev)
				hPrev = ht
			}
			copy(yh.f[d*NH:(d+1)*NH], hPrev)
			if seqLens != nil {
				for t := 0; t < Tn; t++ {
					yt := y.f[(t*D+d)*NH : (t*D+d+1)*NH]
					for n := 0; n < N; n++ {
						if valid(t, n) {
							copy(yt[n*H:(n+1)*H], s.hs[t*NH+n*H:t*NH+(n+1)*H])
						} else {
							clear(yt[n*H : (n+1)*H])
						}
					}
				}
			}
		}
		return nil
	}
	c.bwd = func() {
		for d := 0; d < D; d++ {
			s := &st[d]
			if s.dz == nil {
				s.dz, s.drec, s.dh, s.tmp = make([]T, Tn*N*G), make([]T, N*G), make([]T, NH), make([]T, NH)
			}
			wd, rd := w.f[d*G*I:(d+1)*G*I], rw.f[d*G*H:(d+1)*G*H]
			var rg, rbg []T
			if rw.g != nil {
				rg = rw.g[d*G*H : (d+1)*G*H]
			}
			if b != nil && b.g != nil {
				rbg = b.g[d*2*G+G : (d+1)*2*G]
			}
			clear(s.dh)
			if yh.g != nil {
				copy(s.dh, yh.g[d*NH:(d+1)*NH])
			}
			for step := Tn - 1; step >= 0; step-- {
				t := order(d, step)
				hPrev := hInit(d, s.zero)
				if step > 0 {
					hPrev = hAt(d, order(d, step-1))
				}
				a := s.act[t*N*G : (t+1)*N*G]
				dz := s.dz[t*N*G : (t+1)*N*G]
				if y.g != nil {
					yg := y.g[(t*D+d)*NH : (t*D+d+1)*NH]
					for n := 0; n < N; n++ {
						if valid(t, n) { // Y is the constant 0 past the end
							add(s.dh[n*H:(n+1)*H], yg[n*H:(n+1)*H])
						}
					}
				}
				if !gru {
					for n := 0; n < N; n++ {
						if !valid(t, n) { // state carried: dh passes to the previous step
							clear(dz[n*G : (n+1)*G])
							clear(s.drec[n*G : (n+1)*G])
							copy(s.tmp[n*H:(n+1)*H], s.dh[n*H:(n+1)*H])
							continue
						}
						for k := 0; k < H; k++ {
							j := n*H + k
							v := a[n*G+k]
							var da T
							if relu(d) {
								if v > 0 {
									da = s.dh[j]
								}
							} else {
								da = s.dh[j] * (1 - v*v)
							}
							da = passes(d, (t*N+n)*G+k, da)
							dz[n*G+k], s.drec[n*G+k] = da, da
						}
					}
					// dHₜ₋₁ = da·R
					mm.gemm(false, false, N, H, G, 1, s.drec, G, rd, H, 0, s.dh, H)
					for n := 0; seqLens != nil && n < N; n++ {
						if !valid(t, n) {
							copy(s.dh[n*H:(n+1)*H], s.tmp[n*H:(n+1)*H])
						}
					}
					if rg != nil {
						mm.gemm(true, false, G, H, N, 1, s.drec, G, hPrev, H, 1, rg, H)
					}
					if rbg != nil {
						for n := 0; n < N; n++ {
							add(rbg, s.drec[n*G:(n+1)*G])
						}
					}
					continue
				}
				aux := s.aux[t*NH : (t+1)*NH]
				// s.tmp collects dHₜ₋₁ from the direct path z⊙Hₜ₋₁
				for n := 0; n < N; n++ {
					ar, dzr, drr := a[n*G:(n+1)*G], dz[n*G:(n+1)*G], s.drec[n*G:(n+1)*G]
					if !valid(t, n) { // state carried: dh passes to the previous step
						clear(dzr)
						clear(drr)
						copy(s.tmp[n*H:(n+1)*H], s.dh[n*H:(n+1)*H])
						continue
					}
					for k := 0; k < H; k++ {
						j := n*H + k
						dH := s.dh[j]
						z, r, hh := ar[k], ar[H+k], ar[2*H+k]
						s.tmp[j] = dH * z
						at := (t*N + n) * G
						dah := passes(d, at+2*H+k, dH*(1-z)*(1-hh*hh))
						daz := passes(d, at+k, dH*(hPrev[j]-hh)*z*(1-z))
						dzr[k], drr[k] = daz, daz
						dzr[2*H+k] = dah
						if lbr {
							dr := dah * aux[j]
							dzr[H+k] = passes(d, at+H+k, dr*r*(1-r))
							drr[H+k] = dzr[H+k]
							drr[2*H+k] = dah * r
						}
					}
				}
				if !lbr {
					// d(r⊙Hₜ₋₁) = da_h·R_h
					mm.gemm(false, false, N, H, H, 1, dz[2*H:], G, rd[2*H*H:], H, 0, s.dh, H)
					for n := 0; n < N; n++ {
						ar, dzr, drr := a[n*G:(n+1)*G], dz[n*G:(n+1)*G], s.drec[n*G:(n+1)*G]
						for k := 0; k < H; k++ {
							j := n*H + k
							r := ar[H+k]
							dzr[H+k] = passes(d, (t*N+n)*G+H+k, s.dh[j]*hPrev[j]*r*(1-r))
							drr[H+k] = dzr[H+k]
							s.tmp[j] += s.dh[j] * r
						}
					}
					if rg != nil {
						mm.gemm(true, false, H, H, N, 1, dz[2*H:], G, aux, H, 1, rg[2*H*H:], H)
					}
					if rbg != nil {
						for n := 0; n < N; n++ {
							add(rbg[2*H:], dz[n*G+2*H:(n+1)*G])
						}
					}
				}
				nRec := G
				if !lbr {
					nRec = 2 * H
				}
				// dHₜ₋₁ = direct path + drec·R (gates whose recurrent input is Hₜ₋₁)
				copy(s.dh, s.tmp)
				mm.gemm(false, false, N, H, nRec, 1, s.drec, G, rd, H, 1, s.dh, H)
				if rg != nil {
					mm.gemm(true, false, nRec, H, N, 1, s.drec, G, hPrev, H, 1, rg, H)
				}
				if rbg != nil {
					for n := 0; n < N; n++ {
						add(rbg[:nRec], s.drec[n*G:n*G+nRec])
					}
				}
			}
			if h0 != nil && h0.g != nil {
				add(h0.g[d*NH:(d+1)*NH], s.dh)
			}
			if w.g != nil {
				mm.gemm(true, false, G, I, Tn*N, 1, s.dz, G, x.f, I, 1, w.g[d*G*I:], I)
			}
			if x.g != nil {
				mm.gemm(false, false, Tn*N, I, G, 1, s.dz, G, wd, I, 1, x.g, I)
			}
			if b != nil && b.g != nil {
				wbg := b.g[d*2*G : d*2*G+G]
				for r := 0; r < Tn*N; r++ {
					add(wbg, s.dz[r*G:(r+1)*G])
				}
			}
		}
	}
	return nil
}

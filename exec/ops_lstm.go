package exec

import (
	"errors"
	"fmt"
	"math"

	"github.com/nnkit/nnkit/ir"
)

// LSTM (ONNX gate order i, o, f, c; default activations), forward, reverse
// or bidirectional, with backpropagation through time. With sequence_lens
// (PyTorch's packed sequences) step t of sequence n runs only for
// t < len(n): past the end the state carries over unchanged, Y is 0 and
// the gradients of h and c pass straight through; the reverse direction
// thereby starts at each sequence's own end. Peepholes P (order i, o, f)
// add P_i⊙Cₜ₋₁ and P_f⊙Cₜ₋₁ to i's and f's pre-activations and P_o⊙Cₜ to
// o's; their gradients reach C through those products.
//
//	z = Xₜ·Wᵀ + Hₜ₋₁·Rᵀ + Wb + Rb;  i,o,f = σ(zᵢ,z_o,z_f), c̃ = tanh z_c
//	Cₜ = f⊙Cₜ₋₁ + i⊙c̃;  Hₜ = o⊙tanh Cₜ
//	→ dCₜ = dCₜ₊₁' + dHₜ⊙o⊙(1−tanh²Cₜ), dz = (dCₜ⊙c̃⊙i(1−i), dHₜ⊙tanh Cₜ⊙o(1−o),
//	  dCₜ⊙Cₜ₋₁⊙f(1−f), dCₜ⊙i⊙(1−c̃²)), dHₜ₋₁ = dz·R, dCₜ₋₁' = dCₜ⊙f,
//	  dW = Σ dzᵀXₜ, dR = Σ dzᵀHₜ₋₁, dWb = dRb = Σ dz, dXₜ = dz·W

func registerLSTM[T Float](m map[string]opDef[T]) {
	m["LSTM"] = opDef[T]{plan: planLSTM[T], check: checkLSTM}
}

func checkLSTM(n *ir.Node, _ int64) error {
	if _, err := ir.RecurrentAttrs(n); err != nil {
		return err
	}
	if err := checkGates(n, 3); err != nil {
		return err
	}
	if n.Int("input_forget", 0) != 0 {
		return errors.New("input_forget=1")
	}
	return nil
}

func planLSTM[T Float](c *nodeCtx[T]) error {
	if ra, err := ir.RecurrentAttrs(c.n); err == nil && ra.BatchFirst {
		return withLayout1(c, []int{5, 6}, planLSTMCore[T])
	}
	return planLSTMCore(c)
}

func planLSTMCore[T Float](c *nodeCtx[T]) error {
	k, err := lstmOperands(c)
	if err != nil {
		return err
	}
	Tn, N, H, G, D := k.Tn, k.N, k.H, k.G, k.D
	// clip bounds every gate's pre-activation to [−clip, clip] (ONNX Runtime's
	// reading of the attribute: the cell state itself is not clipped); a
	// clipped pre-activation passes no gradient. clipped records which.
	k.gc = newGateClip[T](c.n, D, Tn*N*G)
	if s := k.seqLens; s != nil && (s.kind == kFloat || s.size != N) {
		return fmt.Errorf("sequence_lens %s: want [%d] integers", shapeStr(s.shape), N)
	}
	// Y [T D N H], Y_h and Y_c [D N H]
	for j, y := range []**tensor[T]{&k.y, &k.yh, &k.yc} {
		shape, err := c.inferredOr(j, recurrentScratch(j, Tn, D, N, H))
		if err != nil {
			return err
		}
		*y = c.output(j, kFloat, shape)
	}
	NH := N * H
	k.st = make([]lstmState[T], D)
	for d := range k.st {
		k.st[d] = lstmState[T]{act: make([]T, Tn*N*G), cs: make([]T, Tn*NH), tc: make([]T, Tn*NH), zero: make([]T, NH)}
		if k.seqLens != nil {
			k.st[d].hs = make([]T, Tn*NH)
		}
	}
	k.mm = c.e.mm
	c.fwd = k.forward
	c.bwd = k.backward
	return nil
}

// lstm is an LSTM node's kernel: its operands, sizes and per-direction
// state.
type lstm[T Float] struct {
	x, w, rw                 *tensor[T]
	b, seqLens, h0, c0, peep *tensor[T] // optional inputs, nil when absent
	y, yh, yc                *tensor[T]
	Tn, N, I, H, G, D        int  // steps, batch, input size, hidden size, 4·H, directions
	reverse                  bool // the only direction is reverse
	gc                       *gateClip[T]
	st                       []lstmState[T]
	mm                       *gemmer[T]
}

// lstmState is one direction's buffers.
type lstmState[T Float] struct {
	act, cs, tc, dz []T // [T, N, 4H], [T, N, H], [T, N, H], [T, N, 4H]
	hs              []T // [T, N, H] hidden states, with sequence_lens (Y is 0 past a sequence's end)
	dh, dc, tmp     []T // [N, H]
	zero            []T
}

// lstmOperands checks an LSTM node's inputs against each other and its
// hidden_size and direction attributes.
func lstmOperands[T Float](c *nodeCtx[T]) (*lstm[T], error) {
	x, err := c.need(0, kFloat)
	if err != nil {
		return nil, err
	}
	w, err := c.need(1, kFloat)
	if err != nil {
		return nil, err
	}
	rw, err := c.need(2, kFloat)
	if err != nil {
		return nil, err
	}
	k := &lstm[T]{x: x, w: w, rw: rw, b: c.input(3), seqLens: c.input(4), h0: c.input(5), c0: c.input(6), peep: c.input(7)}
	ra, err := ir.RecurrentAttrs(c.n)
	if err != nil {
		return nil, err
	}
	H, D := int(ra.HiddenSize), ra.Directions
	k.reverse = ra.Reverse
	if len(x.shape) != 3 {
		return nil, fmt.Errorf("X %s must be [seq, batch, input]", shapeStr(x.shape))
	}
	Tn, N, I := x.shape[0], x.shape[1], x.shape[2]
	if H <= 0 {
		if len(w.shape) == 3 {
			H = w.shape[1] / ra.Gates
		}
	}
	G := ra.Gates * H
	if !sameShape(w.shape, []int{D, G, I}) || !sameShape(rw.shape, []int{D, G, H}) {
		return nil, fmt.Errorf("W %s and R %s do not match hidden_size %d, %d direction(s) and input %s", shapeStr(w.shape), shapeStr(rw.shape), H, D, shapeStr(x.shape))
	}
	if b := k.b; b != nil && (b.kind != kFloat || !sameShape(b.shape, []int{D, 2 * G})) {
		return nil, fmt.Errorf("B %s: want [%d %d]", shapeStr(b.shape), D, 2*G)
	}
	for _, t := range []*tensor[T]{k.h0, k.c0} {
		if t != nil && (t.kind != kFloat || !sameShape(t.shape, []int{D, N, H})) {
			return nil, fmt.Errorf("initial state %s: want [%d %d %d]", shapeStr(t.shape), D, N, H)
		}
	}
	if p := k.peep; p != nil && (p.kind != kFloat || !sameShape(p.shape, []int{D, 3 * H})) {
		return nil, fmt.Errorf("P %s: want [%d %d]", shapeStr(p.shape), D, 3*H)
	}
	k.Tn, k.N, k.I, k.H, k.G, k.D = Tn, N, I, H, G, D
	return k, nil
}

// pw is the peephole weight of direction d for unit j (0 without P),
// gate order i, o, f.
func (k *lstm[T]) pw(d, gate, j int) T {
	if k.peep == nil {
		return 0
	}
	return k.peep.f[d*3*k.H+gate*k.H+j]
}

// valid reports whether step t is inside sequence n (always, without
// sequence_lens).
func (k *lstm[T]) valid(t, n int) bool { return k.seqLens == nil || int64(t) < k.seqLens.i[n] }

// order maps direction d's step s to a time index.
func (k *lstm[T]) order(d, s int) int {
	if d == 1 || k.reverse {
		return k.Tn - 1 - s
	}
	return s
}

// hAt is the hidden state after step t: Y itself, or (sequence_lens) the
// state that past a sequence's end carries the last valid one.
func (k *lstm[T]) hAt(d, t int) []T {
	NH := k.N * k.H
	if k.seqLens != nil {
		return k.st[d].hs[t*NH : (t+1)*NH]
	}
	return k.y.f[(t*k.D+d)*NH : (t*k.D+d+1)*NH]
}

// initial is direction d's initial state from t (h0 or c0), or z.
func (k *lstm[T]) initial(t *tensor[T], d int, z []T) []T {
	if t == nil {
		return z
	}
	NH := k.N * k.H
	return t.f[d*NH : (d+1)*NH]
}

func (k *lstm[T]) forward(*runCtx) error {
	if k.seqLens != nil {
		for _, l := range k.seqLens.i {
			if l < 0 || l > int64(k.Tn) {
				return fmt.Errorf("sequence_lens %v: lengths must be in [0, %d]", k.seqLens.i, k.Tn)
			}
		}
	}
	for d := 0; d < k.D; d++ {
		k.forwardDir(d)
	}
	return nil
}

// forwardDir runs direction d over the sequence.
func (k *lstm[T]) forwardDir(d int) {
	x, w, rw, b, y := k.x, k.w, k.rw, k.b, k.y
	Tn, N, I, H, G, D := k.Tn, k.N, k.I, k.H, k.G, k.D
	NH := N * H
	s := &k.st[d]
	wd, rd := w.f[d*G*I:(d+1)*G*I], rw.f[d*G*H:(d+1)*G*H]
	k.mm.gemm(false, true, Tn*N, G, I, 1, x.f, I, wd, I, 0, s.act, G)
	if b != nil {
		bd := b.f[d*2*G : (d+1)*2*G]
		for r := 0; r < Tn*N; r++ {
			row := s.act[r*G : (r+1)*G]
			for j := range row {
				row[j] += bd[j] + bd[G+j]
			}
		}
	}
	hPrev, cPrev := k.initial(k.h0, d, s.zero), k.initial(k.c0, d, s.zero)
	for step := 0; step < Tn; step++ {
		t := k.order(d, step)
		z := s.act[t*N*G : (t+1)*N*G]
		k.mm.gemm(false, true, N, G, H, 1, hPrev, H, rd, H, 1, z, G)
		ct, tct, ht := s.cs[t*NH:(t+1)*NH], s.tc[t*NH:(t+1)*NH], k.hAt(d, t)
		for n := 0; n < N; n++ {
			zr := z[n*G : (n+1)*G]
			at := (t*N + n) * G // this row's offset in clipped
			for j := 0; j < H; j++ {
				cp := cPrev[n*H+j]
				ig := T(sigmoid64(float64(k.gc.clip(d, at+j, zr[j]+k.pw(d, 0, j)*cp))))
				fg := T(sigmoid64(float64(k.gc.clip(d, at+2*H+j, zr[2*H+j]+k.pw(d, 2, j)*cp))))
				cg := T(math.Tanh(float64(k.gc.clip(d, at+3*H+j, zr[3*H+j]))))
				cv := fg*cp + ig*cg
				og := T(sigmoid64(float64(k.gc.clip(d, at+H+j, zr[H+j]+k.pw(d, 1, j)*cv))))
				zr[j], zr[H+j], zr[2*H+j], zr[3*H+j] = ig, og, fg, cg
				tc := T(math.Tanh(float64(cv)))
				ct[n*H+j], tct[n*H+j] = cv, tc
				ht[n*H+j] = og * tc
			}
			if !k.valid(t, n) { // past the end: the state carries over
				copy(ct[n*H:(n+1)*H], cPrev[n*H:(n+1)*H])
				copy(ht[n*H:(n+1)*H], hPrev[n*H:(n+1)*H])
			}
		}
		hPrev, cPrev = ht, ct
	}
	copy(k.yh.f[d*NH:(d+1)*NH], hPrev)
	copy(k.yc.f[d*NH:(d+1)*NH], cPrev)
	if k.seqLens != nil {
		for t := 0; t < Tn; t++ {
			yt := y.f[(t*D+d)*NH : (t*D+d+1)*NH]
			for n := 0; n < N; n++ {
				if k.valid(t, n) {
					copy(yt[n*H:(n+1)*H], s.hs[t*NH+n*H:t*NH+(n+1)*H])
				} else {
					clear(yt[n*H : (n+1)*H])
				}
			}
		}
	}
}

func (k *lstm[T]) backward() {
	for d := 0; d < k.D; d++ {
		k.backwardDir(d)
	}
}

// backwardDir backpropagates direction d through time.
func (k *lstm[T]) backwardDir(d int) {
	x, w, rw, b, y, peep := k.x, k.w, k.rw, k.b, k.y, k.peep
	Tn, N, I, H, G, D := k.Tn, k.N, k.I, k.H, k.G, k.D
	NH := N * H
	s := &k.st[d]
	if s.dz == nil {
		s.dz, s.dh, s.dc, s.tmp = make([]T, Tn*N*G), make([]T, NH), make([]T, NH), make([]T, NH)
	}
	wd, rd := w.f[d*G*I:(d+1)*G*I], rw.f[d*G*H:(d+1)*G*H]
	clear(s.dh)
	clear(s.dc)
	if k.yh.g != nil {
		copy(s.dh, k.yh.g[d*NH:(d+1)*NH])
	}
	if k.yc.g != nil {
		copy(s.dc, k.yc.g[d*NH:(d+1)*NH])
	}
	for step := Tn - 1; step >= 0; step-- {
		t := k.order(d, step)
		var hPrev, cPrev []T
		if step == 0 {
			hPrev, cPrev = k.initial(k.h0, d, s.zero), k.initial(k.c0, d, s.zero)
		} else {
			tp := k.order(d, step-1)
			hPrev, cPrev = k.hAt(d, tp), s.cs[tp*NH:(tp+1)*NH]
		}
		a := s.act[t*N*G : (t+1)*N*G]
		dz := s.dz[t*N*G : (t+1)*N*G]
		tct := s.tc[t*NH : (t+1)*NH]
		for n := 0; n < N; n++ {
			ar, dzr := a[n*G:(n+1)*G], dz[n*G:(n+1)*G]
			if !k.valid(t, n) {
				// state carried: dh and dc pass to the previous step
				clear(dzr)
				copy(s.tmp[n*H:(n+1)*H], s.dh[n*H:(n+1)*H])
				continue
			}
			for u := 0; u < H; u++ {
				j := n*H + u
				dh := s.dh[j]
				if y.g != nil {
					dh += y.g[(t*D+d)*NH+j]
				}
				ig, og, fg, cg := ar[u], ar[H+u], ar[2*H+u], ar[3*H+u]
				tc := tct[j]
				at := (t*N + n) * G
				dzo := k.gc.pass(d, at+H+u, dh*tc*og*(1-og))
				dc := s.dc[j] + dh*og*(1-tc*tc) + dzo*k.pw(d, 1, u)
				dzr[u] = k.gc.pass(d, at+u, dc*cg*ig*(1-ig))
				dzr[H+u] = dzo
				dzr[2*H+u] = k.gc.pass(d, at+2*H+u, dc*cPrev[j]*fg*(1-fg))
				dzr[3*H+u] = k.gc.pass(d, at+3*H+u, dc*ig*(1-cg*cg))
				s.dc[j] = dc*fg + dzr[u]*k.pw(d, 0, u) + dzr[2*H+u]*k.pw(d, 2, u)
				if peep != nil && peep.g != nil {
					pg := peep.g[d*3*H:]
					pg[u] += dzr[u] * cPrev[j]
					pg[H+u] += dzo * s.cs[t*NH+j]
					pg[2*H+u] += dzr[2*H+u] * cPrev[j]
				}
			}
		}
		// dHₜ₋₁ = dz·R
		k.mm.gemm(false, false, N, H, G, 1, dz, G, rd, H, 0, s.dh, H)
		if k.seqLens != nil {
			for n := 0; n < N; n++ {
				if !k.valid(t, n) {
					copy(s.dh[n*H:(n+1)*H], s.tmp[n*H:(n+1)*H])
				}
			}
		}
		if rw.g != nil {
			k.mm.gemm(true, false, G, H, N, 1, dz, G, hPrev, H, 1, rw.g[d*G*H:], H)
		}
	}
	if k.h0 != nil && k.h0.g != nil {
		add(k.h0.g[d*NH:(d+1)*NH], s.dh)
	}
	if k.c0 != nil && k.c0.g != nil {
		add(k.c0.g[d*NH:(d+1)*NH], s.dc)
	}
	if w.g != nil {
		k.mm.gemm(true, false, G, I, Tn*N, 1, s.dz, G, x.f, I, 1, w.g[d*G*I:], I)
	}
	if x.g != nil {
		k.mm.gemm(false, false, Tn*N, I, G, 1, s.dz, G, wd, I, 1, x.g, I)
	}
	if b != nil && b.g != nil {
		bg := b.g[d*2*G : (d+1)*2*G]
		for r := 0; r < Tn*N; r++ {
			for j, v := range s.dz[r*G : (r+1)*G] {
				bg[j] += v
				bg[G+j] += v
			}
		}
	}
}

func add[T Float](dst, src []T) {
	for i, v := range src {
		dst[i] += v
	}
}

// recurrentScratch is the time-major shape of output j of a recurrent op
// (Y [T D N H], the states [D N H]) for the buffer its kernel keeps when
// the node omits that output.
func recurrentScratch(j, Tn, D, N, H int) []int {
	if j == 0 {
		return []int{Tn, D, N, H}
	}
	return []int{D, N, H}
}

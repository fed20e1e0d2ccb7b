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
	switch n.String("direction", "forward") {
	case "forward", "reverse", "bidirectional":
	default:
		return fmt.Errorf("direction=%q", n.String("direction", ""))
	}
	if acts := n.Strs("activations", nil); acts != nil {
		for i, a := range acts {
			want := "Tanh"
			if i%3 == 0 {
				want = "Sigmoid"
			}
			if a != want {
				return fmt.Errorf("activations %v", acts)
			}
		}
	}
	if n.HasAttr("clip") && !(n.Float("clip", 0) > 0) {
		return fmt.Errorf("clip=%v (must be positive)", n.Float("clip", 0))
	}
	if n.Int("input_forget", 0) != 0 {
		return errors.New("input_forget=1")
	}
	return nil
}

func planLSTM[T Float](c *nodeCtx[T]) error {
	if c.n.Int("layout", 0) != 0 {
		return withLayout1(c, []int{5, 6}, planLSTMCore[T])
	}
	return planLSTMCore(c)
}

func planLSTMCore[T Float](c *nodeCtx[T]) error {
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
	b, seqLens, h0, c0, peep := c.input(3), c.input(4), c.input(5), c.input(6), c.input(7)
	H := int(c.n.Int("hidden_size", 0))
	dir := c.n.String("direction", "forward")
	D := 1
	if dir == "bidirectional" {
		D = 2
	}
	if len(x.shape) != 3 {
		return fmt.Errorf("X %s must be [seq, batch, input]", shapeStr(x.shape))
	}
	Tn, N, I := x.shape[0], x.shape[1], x.shape[2]
	if H <= 0 {
		if len(w.shape) == 3 {
			H = w.shape[1] / 4
		}
	}
	G := 4 * H
	if !sameShape(w.shape, []int{D, G, I}) || !sameShape(rw.shape, []int{D, G, H}) {
		return fmt.Errorf("W %s and R %s do not match hidden_size %d, %d direction(s) and input %s", shapeStr(w.shape), shapeStr(rw.shape), H, D, shapeStr(x.shape))
	}
	if b != nil && (b.kind != kFloat || !sameShape(b.shape, []int{D, 2 * G})) {
		return fmt.Errorf("B %s: want [%d %d]", shapeStr(b.shape), D, 2*G)
	}
	for _, t := range []*tensor[T]{h0, c0} {
		if t != nil && (t.kind != kFloat || !sameShape(t.shape, []int{D, N, H})) {
			return fmt.Errorf("initial state %s: want [%d %d %d]", shapeStr(t.shape), D, N, H)
		}
	}
	if peep != nil && (peep.kind != kFloat || !sameShape(peep.shape, []int{D, 3 * H})) {
		return fmt.Errorf("P %s: want [%d %d]", shapeStr(peep.shape), D, 3*H)
	}
	// clip bounds every gate's pre-activation to [−clip, clip] (ONNX Runtime's
	// reading of the attribute: the cell state itself is not clipped); a
	// clipped pre-activation passes no gradient. clipped records which.
	gc := newGateClip[T](c.n, D, Tn*N*G)
	cl, passes := gc.clip, gc.pass
	// peephole weights of direction d for unit k (0 without P), order i, o, f
	pw := func(d, gate, k int) T {
		if peep == nil {
			return 0
		}
		return peep.f[d*3*H+gate*H+k]
	}
	if seqLens != nil && (seqLens.kind == kFloat || seqLens.size != N) {
		return fmt.Errorf("sequence_lens %s: want [%d] integers", shapeStr(seqLens.shape), N)
	}
	y := c.output(0, kFloat, []int{Tn, D, N, H})
	yh := c.output(1, kFloat, []int{D, N, H})
	yc := c.output(2, kFloat, []int{D, N, H})
	NH := N * H
	type state struct {
		act, cs, tc, dz []T // [T, N, 4H], [T, N, H], [T, N, H], [T, N, 4H]
		hs              []T // [T, N, H] hidden states, with sequence_lens (Y is 0 past a sequence's end)
		dh, dc, tmp     []T // [N, H]
		zero            []T
	}
	st := make([]state, D)
	for d := range st {
		st[d] = state{act: make([]T, Tn*N*G), cs: make([]T, Tn*NH), tc: make([]T, Tn*NH), zero: make([]T, NH)}
		if seqLens != nil {
			st[d].hs = make([]T, Tn*NH)
		}
	}
	// valid(t, n): step t is inside sequence n (always, without sequence_lens)
	valid := func(t, n int) bool { return seqLens == nil || int64(t) < seqLens.i[n] }
	mm := c.e.mm
	order := func(d, s int) int {
		if d == 1 || dir == "reverse" {
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
	init := func(t *tensor[T], d int, z []T) []T {
		if t == nil {
			return z
		}
		return t.f[d*NH : (d+1)*NH]
	}
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
			mm.gemm(false, true, Tn*N, G, I, 1, x.f, I, wd, I, 0, s.act, G)
			if b != nil {
				bd := b.f[d*2*G : (d+1)*2*G]
				for r := 0; r < Tn*N; r++ {
					row := s.act[r*G : (r+1)*G]
					for k := range row {
						row[k] += bd[k] + bd[G+k]
					}
				}
			}
			hPrev, cPrev := init(h0, d, s.zero), init(c0, d, s.zero)
			for step := 0; step < Tn; step++ {
				t := order(d, step)
				z := s.act[t*N*G : (t+1)*N*G]
				mm.gemm(false, true, N, G, H, 1, hPrev, H, rd, H, 1, z, G)
				ct, tct, ht := s.cs[t*NH:(t+1)*NH], s.tc[t*NH:(t+1)*NH], hAt(d, t)
				for n := 0; n < N; n++ {
					zr := z[n*G : (n+1)*G]
					at := (t*N + n) * G // this row's offset in clipped
					for k := 0; k < H; k++ {
						cp := cPrev[n*H+k]
						ig := T(sigmoid64(float64(cl(d, at+k, zr[k]+pw(d, 0, k)*cp))))
						fg := T(sigmoid64(float64(cl(d, at+2*H+k, zr[2*H+k]+pw(d, 2, k)*cp))))
						cg := T(math.Tanh(float64(cl(d, at+3*H+k, zr[3*H+k]))))
						cv := fg*cp + ig*cg
						og := T(sigmoid64(float64(cl(d, at+H+k, zr[H+k]+pw(d, 1, k)*cv))))
						zr[k], zr[H+k], zr[2*H+k], zr[3*H+k] = ig, og, fg, cg
						tc := T(math.Tanh(float64(cv)))
						ct[n*H+k], tct[n*H+k] = cv, tc
						ht[n*H+k] = og * tc
					}
					if !valid(t, n) { // past the end: the state carries over
						copy(ct[n*H:(n+1)*H], cPrev[n*H:(n+1)*H])
						copy(ht[n*H:(n+1)*H], hPrev[n*H:(n+1)*H])
					}
				}
				hPrev, cPrev = ht, ct
			}
			copy(yh.f[d*NH:(d+1)*NH], hPrev)
			copy(yc.f[d*NH:(d+1)*NH], cPrev)
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
				s.dz, s.dh, s.dc, s.tmp = make([]T, Tn*N*G), make([]T, NH), make([]T, NH), make([]T, NH)
			}
			wd, rd := w.f[d*G*I:(d+1)*G*I], rw.f[d*G*H:(d+1)*G*H]
			clear(s.dh)
			clear(s.dc)
			if yh.g != nil {
				copy(s.dh, yh.g[d*NH:(d+1)*NH])
			}
			if yc.g != nil {
				copy(s.dc, yc.g[d*NH:(d+1)*NH])
			}
			for step := Tn - 1; step >= 0; step-- {
				t := order(d, step)
				var hPrev, cPrev []T
				if step == 0 {
					hPrev, cPrev = init(h0, d, s.zero), init(c0, d, s.zero)
				} else {
					tp := order(d, step-1)
					hPrev, cPrev = hAt(d, tp), s.cs[tp*NH:(tp+1)*NH]
				}
				a := s.act[t*N*G : (t+1)*N*G]
				dz := s.dz[t*N*G : (t+1)*N*G]
				tct := s.tc[t*NH : (t+1)*NH]
				for n := 0; n < N; n++ {
					ar, dzr := a[n*G:(n+1)*G], dz[n*G:(n+1)*G]
					if !valid(t, n) {
						// state carried: dh and dc pass to the previous step
						clear(dzr)
						copy(s.tmp[n*H:(n+1)*H], s.dh[n*H:(n+1)*H])
						continue
					}
					for k := 0; k < H; k++ {
						j := n*H + k
						dh := s.dh[j]
						if y.g != nil {
							dh += y.g[(t*D+d)*NH+j]
						}
						ig, og, fg, cg := ar[k], ar[H+k], ar[2*H+k], ar[3*H+k]
						tc := tct[j]
						at := (t*N + n) * G
						dzo := passes(d, at+H+k, dh*tc*og*(1-og))
						dc := s.dc[j] + dh*og*(1-tc*tc) + dzo*pw(d, 1, k)
						dzr[k] = passes(d, at+k, dc*cg*ig*(1-ig))
						dzr[H+k] = dzo
						dzr[2*H+k] = passes(d, at+2*H+k, dc*cPrev[j]*fg*(1-fg))
						dzr[3*H+k] = passes(d, at+3*H+k, dc*ig*(1-cg*cg))
						s.dc[j] = dc*fg + dzr[k]*pw(d, 0, k) + dzr[2*H+k]*pw(d, 2, k)
						if peep != nil && peep.g != nil {
							pg := peep.g[d*3*H:]
							pg[k] += dzr[k] * cPrev[j]
							pg[H+k] += dzo * s.cs[t*NH+j]
							pg[2*H+k] += dzr[2*H+k] * cPrev[j]
						}
					}
				}
				// dHₜ₋₁ = dz·R
				mm.gemm(false, false, N, H, G, 1, dz, G, rd, H, 0, s.dh, H)
				if seqLens != nil {
					for n := 0; n < N; n++ {
						if !valid(t, n) {
							copy(s.dh[n*H:(n+1)*H], s.tmp[n*H:(n+1)*H])
						}
					}
				}
				if rw.g != nil {
					mm.gemm(true, false, G, H, N, 1, dz, G, hPrev, H, 1, rw.g[d*G*H:], H)
				}
			}
			if h0 != nil && h0.g != nil {
				add(h0.g[d*NH:(d+1)*NH], s.dh)
			}
			if c0 != nil && c0.g != nil {
				add(c0.g[d*NH:(d+1)*NH], s.dc)
			}
			if w.g != nil {
				mm.gemm(true, false, G, I, Tn*N, 1, s.dz, G, x.f, I, 1, w.g[d*G*I:], I)
			}
			if x.g != nil {
				mm.gemm(false, false, Tn*N, I, G, 1, s.dz, G, wd, I, 1, x.g, I)
			}
			if b != nil && b.g != nil {
				bg := b.g[d*2*G : (d+1)*2*G]
				for r := 0; r < Tn*N; r++ {
					for k, v := range s.dz[r*G : (r+1)*G] {
						bg[k] += v
						bg[G+k] += v
					}
				}
			}
		}
	}
	return nil
}

func add[T Float](dst, src []T) {
	for i, v := range src {
		dst[i] += v
	}
}

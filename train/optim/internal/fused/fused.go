package fused

import (
	"math"
	"runtime"
	"sync"
)

// Lanes is the block the vector kernels work in; slices handed to them
// are cut to a multiple of it and the tail goes through a padded copy, so
// every element takes the same path.
const Lanes = 8

// AdamHyper holds one parameter's Adam/AdamW scalars for a step, each
// already rounded to float32 as torch turns Python floats into them.
// The layout is read by the assembly: keep the field order.
type AdamHyper struct {
	Decay    float32 // θ ← θ·Decay first (AdamW: 1 − lr·wd; Adam: 1, exact)
	WD       float32 // Adam's coupled decay: g ← g + WD·θ when Coupled
	B1, One1 float32 // β₁, 1 − β₁
	B2, One2 float32 // β₂, 1 − β₂
	BC2Sqrt  float32 // √(1 − β₂ᵗ)
	Eps      float32
	StepSize float32 // −lr/(1 − β₁ᵗ)
	Coupled  uint32
}

// Adam applies one Adam/AdamW update to θ, m, v from g (all the same
// length):
//
//	θ ← θ·Decay;  g ← g + WD·θ (Coupled)
//	m ← m·β₁ + (1−β₁)·g              (fused)
//	v ← v·β₂ + ((1−β₂)·g)·g          (fused)
//	θ ← θ + (StepSize·m) / (√v / BC2Sqrt + Eps)
func Adam(theta, g, m, v []float32, h *AdamHyper) {
	n := len(theta)
	g, m, v = g[:n], m[:n], v[:n]
	body := n &^ (Lanes - 1)
	if haveAVX2 && body > 0 {
		adamAVX2(body, &theta[0], &g[0], &m[0], &v[0], h)
	} else {
		body = 0
	}
	if body == n {
		return
	}
	if !haveAVX2 {
		adamGo(theta[body:], g[body:], m[body:], v[body:], h)
		return
	}
	var t, gg, mm, vv [Lanes]float32
	r := n - body
	copy(t[:], theta[body:])
	copy(gg[:], g[body:])
	copy(mm[:], m[body:])
	copy(vv[:], v[body:])
	adamAVX2(Lanes, &t[0], &gg[0], &mm[0], &vv[0], h)
	copy(theta[body:], t[:r])
	copy(m[body:], mm[:r])
	copy(v[body:], vv[:r])
}

func adamGo(theta, g, m, v []float32, h *AdamHyper) {
	for i, gi := range g {
		th := theta[i] * h.Decay
		if h.Coupled != 0 {
			gi = FMA32(h.WD, th, gi)
		}
		mi := FMA32(h.One1, gi, m[i]*h.B1)
		vi := FMA32(h.One2*gi, gi, v[i]*h.B2)
		m[i], v[i] = mi, vi
		d := float32(sqrt32(vi)/h.BC2Sqrt) + h.Eps
		u := float32(h.StepSize*mi) / d
		theta[i] = th + u
	}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) } // exact: float64 holds √ of a float32 to 2·24+2 bits

// FMA32 is a·b + c rounded once to float32. The product is exact in
// float64, and rounding the float64 sum again to float32 is correct unless
// that sum landed exactly on a float32 midpoint (or in float32's subnormal
// range); only then is the sum recomputed rounded to odd, which makes the
// final rounding correct (53 ≥ 24+2 bits).
func FMA32(a, b, c float32) float32 {
	p := float64(float64(a) * float64(b)) // exact; the conversion forbids fusing
	x := float64(c)
	s := float64(x + p)
	if math.Float64bits(s)&(1<<29-1) != 1<<28 && math.Abs(s) >= 0x1p-126 {
		return float32(s)
	}
	bp := float64(s - x)
	e := float64(x-float64(s-bp)) + float64(p-bp) // TwoSum: s + e = x + p exactly
	if e != 0 && !math.IsInf(s, 0) {
		bits := math.Float64bits(s)
		if bits&1 == 0 {
			if (e > 0) == (s > 0) {
				bits++
			} else {
				bits--
			}
			s = math.Float64frombits(bits)
		}
	}
	return float32(s)
}

// SGD flags.
const (
	SGDWeightDecay = 1 << iota // d ← g + WD·θ
	SGDMomentum                // buf ← μ·buf + (1−dampening)·d, d ← buf
	SGDFirst                   // first momentum step: buf ← d
	SGDNesterov                // d ← d + μ·buf
)

// SGDHyper holds torch.optim.SGD's scalars for a step, rounded to
// float32. The layout is read by the assembly: keep the field order.
type SGDHyper struct {
	WD, Mom, Damp float32 // Damp is 1 − dampening
	Alpha         float32 // −lr
	Flags         uint32
}

// SGD applies one SGD update to θ (and buf, with SGDMomentum; otherwise
// buf is ignored) from g:
//
//	d ← g + WD·θ                                   (SGDWeightDecay, fused)
//	buf ← d (SGDFirst) or buf·μ + Damp·d (fused)     (SGDMomentum)
//	d ← d + μ·buf (SGDNesterov, fused) or d ← buf  (SGDMomentum)
//	θ ← θ + Alpha·d                                (fused)
func SGD(theta, g, buf []float32, h *SGDHyper) {
	n := len(theta)
	g = g[:n]
	if h.Flags&SGDMomentum != 0 {
		buf = buf[:n]
	} else {
		buf = g // never read or written
	}
	if !haveAVX2 {
		sgdGo(theta, g, buf, h)
		return
	}
	body := n &^ (Lanes - 1)
	if body > 0 {
		sgdAVX2(body, &theta[0], &g[0], &buf[0], h)
	}
	if body == n {
		return
	}
	var t, gg, bb [Lanes]float32
	r := n - body
	copy(t[:], theta[body:])
	copy(gg[:], g[body:])
	copy(bb[:], buf[body:])
	sgdAVX2(Lanes, &t[0], &gg[0], &bb[0], h)
	copy(theta[body:], t[:r])
	if h.Flags&SGDMomentum != 0 {
		copy(buf[body:], bb[:r])
	}
}

func sgdGo(theta, g, buf []float32, h *SGDHyper) {
	for i, d := range g {
		if h.Flags&SGDWeightDecay != 0 {
			d = FMA32(h.WD, theta[i], d)
		}
		if h.Flags&SGDMomentum != 0 {
			if h.Flags&SGDFirst != 0 {
				buf[i] = d
			} else {
				buf[i] = FMA32(h.Damp, d, buf[i]*h.Mom)
			}
			if h.Flags&SGDNesterov != 0 {
				d = FMA32(h.Mom, buf[i], d)
			} else {
				d = buf[i]
			}
		}
		theta[i] = FMA32(h.Alpha, d, theta[i])
	}
}

// RMSprop flags.
const (
	RMSWeightDecay = 1 << iota // g ← g + WD·θ
	RMSCentered                // subtract the squared running mean of g
	RMSMomentum                // θ moves by the momentum buffer
)

// RMSHyper holds torch.optim.RMSprop's scalars for a step, rounded to
// float32. The layout is read by the assembly: keep the field order.
type RMSHyper struct {
	WD, Alpha, One, Eps, Mom, NegLR float32 // One is 1 − α
	Flags                           uint32
}

// RMSprop applies one RMSprop update (gavg used with RMSCentered, buf with
// RMSMomentum; otherwise ignored):
//
//	g ← g + WD·θ (fused);  sq ← sq·α + ((1−α)·g)·g (fused)
//	avg = √sq, or √(sq + (−gavg)·gavg) (fused) with gavg ← gavg·α + (1−α)·g (fused)
//	avg ← avg + eps
//	buf ← buf·μ + g/avg, θ ← θ + NegLR·buf (fused)   (RMSMomentum)
//	θ ← θ + (NegLR·g)/avg                            (otherwise)
func RMSprop(theta, g, sq, gavg, buf []float32, h *RMSHyper) {
	n := len(theta)
	g, sq = g[:n], sq[:n]
	if h.Flags&RMSCentered == 0 {
		gavg = sq
	}
	if h.Flags&RMSMomentum == 0 {
		buf = sq
	}
	gavg, buf = gavg[:n], buf[:n]
	if !haveAVX2 {
		rmsGo(theta, g, sq, gavg, buf, h)
		return
	}
	body := n &^ (Lanes - 1)
	if body > 0 {
		rmsAVX2(body, &theta[0], &g[0], &sq[0], &gavg[0], &buf[0], h)
	}
	if body == n {
		return
	}
	var t, gg, ss, ga, bb [Lanes]float32
	r := n - body
	copy(t[:], theta[body:])
	copy(gg[:], g[body:])
	copy(ss[:], sq[body:])
	copy(ga[:], gavg[body:])
	copy(bb[:], buf[body:])
	gp, bp := &ga[0], &bb[0]
	if h.Flags&RMSCentered == 0 {
		gp = &ss[0]
	}
	if h.Flags&RMSMomentum == 0 {
		bp = &ss[0]
	}
	rmsAVX2(Lanes, &t[0], &gg[0], &ss[0], gp, bp, h)
	copy(theta[body:], t[:r])
	copy(sq[body:], ss[:r])
	if h.Flags&RMSCentered != 0 {
		copy(gavg[body:], ga[:r])
	}
	if h.Flags&RMSMomentum != 0 {
		copy(buf[body:], bb[:r])
	}
}

func rmsGo(theta, g, sq, gavg, buf []float32, h *RMSHyper) {
	for i, gi := range g {
		if h.Flags&RMSWeightDecay != 0 {
			gi = FMA32(h.WD, theta[i], gi)
		}
		sq[i] = FMA32(h.One*gi, gi, sq[i]*h.Alpha)
		var avg float32
		if h.Flags&RMSCentered != 0 {
			gavg[i] = FMA32(h.One, gi, gavg[i]*h.Alpha)
			avg = sqrt32(FMA32(-gavg[i], gavg[i], sq[i]))
		} else {
			avg = sqrt32(sq[i])
		}
		avg += h.Eps
		if h.Flags&RMSMomentum != 0 {
			buf[i] = float32(buf[i]*h.Mom) + float32(gi/avg) // two roundings: addcdiv is not fused
			theta[i] = FMA32(h.NegLR, buf[i], theta[i])
		} else {
			theta[i] += float32(h.NegLR*gi) / avg
		}
	}
}

// SumSquares is Σ x² in float64: the vector kernel keeps four partial
// sums per lane group, then adds them in a fixed order; the tail is added
// last, in order. Same input, same bits.
func SumSquares(x []float32) float64 {
	body := 0
	var s float64
	if haveAVX2 {
		body = len(x) &^ 15
		if body > 0 {
			s = sumSquaresAVX2(body, &x[0])
		}
	}
	for _, v := range x[body:] {
		s += float64(v) * float64(v)
	}
	return s
}

// Scale multiplies every element by c (one float32 rounding each).
func Scale(x []float32, c float32) {
	body := 0
	if haveAVX2 {
		body = len(x) &^ (Lanes - 1)
		if body > 0 {
			scaleAVX2(body, &x[0], c)
		}
	}
	for i := body; i < len(x); i++ {
		x[i] *= c
	}
}

// Chunk is the unit the optimizers hand to the workers: elements
// [Lo, Hi) of parameter P.
type Chunk struct{ P, Lo, Hi int }

// ChunkSize bounds a chunk; it is fixed so that per-chunk partial sums do
// not depend on the thread count.
const ChunkSize = 1 << 15

// AppendChunks appends the chunks of a parameter of n elements.
func AppendChunks(cs []Chunk, p, n int) []Chunk {
	for lo := 0; lo < n; lo += ChunkSize {
		cs = append(cs, Chunk{p, lo, min(lo+ChunkSize, n)})
	}
	return cs
}

// Run calls f over [0, n) split into contiguous ranges, one per CPU (at
// most), on a fixed set of worker goroutines started once; the caller
// runs the first range. Loops under minWork total elements (work) stay on
// the caller, where a hand-off costs more than it saves.
func Run(n, work int, f func(lo, hi int)) {
	k := min(workers.threads, n)
	if k <= 1 || work < minWork {
		f(0, n)
		return
	}
	workers.once.Do(workers.start)
	var wg sync.WaitGroup
	wg.Add(k - 1)
	for i := 1; i < k; i++ {
		workers.jobs <- job{f, i * n / k, (i + 1) * n / k, &wg}
	}
	f(0, n/k)
	wg.Wait()
}

const minWork = 1 << 15

type job struct {
	f      func(lo, hi int)
	lo, hi int
	wg     *sync.WaitGroup
}

var workers = struct {
	threads int
	once    sync.Once
	jobs    chan job
	start   func()
}{threads: runtime.GOMAXPROCS(0)}

func init() {
	workers.start = func() {
		workers.jobs = make(chan job, 4*workers.threads)
		for range workers.threads - 1 {
			go func() {
				for j := range workers.jobs {
					j.f(j.lo, j.hi)
					j.wg.Done()
				}
			}()
		}
	}
}

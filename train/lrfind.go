package train

import (
	"fmt"
	"math"

	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/optim"
)

// LRFind is the result of a learning-rate range test (Smith 2017, as in
// fastai's lr_find): the learning rate grows exponentially from Start to
// End, one step per batch, while the loss is recorded.
type LRFind struct {
	LRs      []float64 // learning rate of each step
	Losses   []float64 // the step's training loss
	Smoothed []float64 // exponentially smoothed, bias-corrected (β = 0.9)
	// Suggested is the learning rate where the smoothed loss falls
	// fastest (steepest negative slope against log lr), before the loss
	// minimum; MinLossLR is the learning rate at that minimum (not a
	// loss). A common choice is Suggested, or MinLossLR/10.
	Suggested, MinLossLR float64
	Stopped              string // why the sweep ended early ("" = all steps)
}

// FindLR runs the range test with opt for steps batches — cycling through
// epochs if the data is shorter — and restores the model's weights and
// BatchNorm statistics afterwards, and opt's state and learning rate (its
// rate is set every step), so that opt may be the loop's own optimizer.
// The sweep stops early once the smoothed loss exceeds 4× its minimum or
// becomes NaN.
func (l *Loop) FindLR(opt optim.Optimizer, start, end float64, steps int) (*LRFind, error) {
	if !(start > 0 && end > start) || steps < 2 {
		return nil, fmt.Errorf("LR range test needs 0 < start < end and ≥ 2 steps (got %g, %g, %d)", start, end, steps)
	}
	if err := l.Setup(); err != nil {
		return nil, err
	}
	saved := snapshot(l.Model)
	defer restore(l.Model, saved)
	if st, ok := optim.SaveState(opt); ok {
		defer st.Restore(opt)
	}
	keep := l.Opt
	l.Opt = opt
	defer func() { l.Opt = keep }()

	r := &LRFind{}
	const beta = 0.9 // fastai uses 0.98; over 100 steps that lags by half the sweep
	avg, best := 0.0, math.Inf(1)
	step := 0
	for epoch := 1; step < steps; epoch++ {
		for b := range l.Train.Batches(l.BatchSize, data.Order(l.Train.N, l.Shuffle, l.Seed, epoch)) {
			if step == steps {
				break
			}
			if l.DropLast && b.N < l.BatchSize {
				break
			}
			lr := start * math.Pow(end/start, float64(step)/float64(steps-1))
			opt.SetLR(lr)
			lv, _, _, _, err := l.TrainStep(b)
			if err != nil {
				return nil, err
			}
			step++
			if math.IsNaN(lv) || math.IsInf(lv, 0) {
				r.Stopped = fmt.Sprintf("the loss became %v at lr %.3g", lv, lr)
				break
			}
			avg = beta*avg + (1-beta)*lv
			sm := avg / (1 - math.Pow(beta, float64(step)))
			r.LRs = append(r.LRs, lr)
			r.Losses = append(r.Losses, lv)
			r.Smoothed = append(r.Smoothed, sm)
			best = math.Min(best, sm)
			if sm > 4*best {
				r.Stopped = fmt.Sprintf("the loss exploded (smoothed %.4g > 4× the minimum %.4g) at lr %.3g", sm, best, lr)
				break
			}
		}
		if r.Stopped != "" {
			break
		}
	}
	r.suggest()
	return r, nil
}

// suggest picks the steepest descent of the smoothed loss before its
// minimum, skipping the first points, where the smoothing is still
// settling.
func (r *LRFind) suggest() {
	n := len(r.Smoothed)
	if n == 0 {
		return
	}
	imin := 0
	for i, v := range r.Smoothed {
		if v < r.Smoothed[imin] {
			imin = i
		}
	}
	r.MinLossLR = r.LRs[imin]
	skip := min(n/10, 10)
	best, bi := math.Inf(1), -1
	for i := max(skip, 1); i <= imin && i < n-1; i++ {
		// Central difference against log(lr).
		slope := (r.Smoothed[i+1] - r.Smoothed[i-1]) / (math.Log(r.LRs[i+1]) - math.Log(r.LRs[i-1]))
		if slope < best {
			best, bi = slope, i
		}
	}
	if bi < 0 {
		r.Suggested = r.MinLossLR / 10
		return
	}
	r.Suggested = r.LRs[bi]
}

package vec

import "math"

// Clip sets y[i] = min(max(x[i], lo), hi), as Go's min and max round it
// (NaN stays NaN). The vector path is taken when lo is not −0 and hi is not
// ±0, where the instructions' handling of signed zeros matches Go's.
func Clip(y, x []float32, lo, hi float32) {
	y = y[:len(x)]
	body := 0
	if haveAVX2 && !(lo == 0 && math.Signbit(float64(lo))) && hi != 0 {
		body = len(x) &^ 7
		if body > 0 {
			clipAVX2(body, &y[0], &x[0], lo, hi)
		}
	}
	for i := body; i < len(x); i++ {
		y[i] = min(max(x[i], lo), hi)
	}
}

// ClipGrad adds dy[i] to dx[i] where lo < x[i] < hi (and +0 elsewhere).
func ClipGrad(dx, dy, x []float32, lo, hi float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	body := 0
	if haveAVX2 {
		body = len(dx) &^ 7
		if body > 0 {
			clipGradAVX2(body, &dx[0], &dy[0], &x[0], lo, hi)
		}
	}
	for i := body; i < len(dx); i++ {
		var d float32
		if x[i] > lo && x[i] < hi {
			d = dy[i]
		}
		dx[i] += d
	}
}

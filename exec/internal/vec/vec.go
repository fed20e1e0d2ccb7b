package vec

// MinLen is the length from which the reductions take the vector path;
// shorter slices are summed by the scalar loop. Callers that must sum a
// tensor the same way on every call pass segments whose length depends on
// the shape only.
const MinLen = 16

// Affine sets y[i] = x[i]·a + b (a product and a sum, each rounded).
func Affine(y, x []float32, a, b float32) {
	y = y[:len(x)]
	body := 0
	if haveAVX2 {
		body = len(x) &^ 7
		if body > 0 {
			affineAVX2(body, &y[0], &x[0], a, b)
		}
	}
	for i := body; i < len(x); i++ {
		y[i] = float32(x[i]*a) + b
	}
}

// ShiftedSums returns Σ(x−k) and Σ(x−k)² in float64.
func ShiftedSums(x []float32, k float64) (s, q float64) {
	body := 0
	if haveAVX2 && len(x) >= MinLen {
		body = len(x) &^ 7
		s, q = shiftedSumsAVX2(body, &x[0], k)
	}
	for _, v := range x[body:] {
		f := float64(v) - k
		s += f
		q += f * f
	}
	return s, q
}

// CenteredDots returns Σd and Σd·(x−mu) in float64.
func CenteredDots(d, x []float32, mu float64) (sd, sdx float64) {
	x = x[:len(d)]
	body := 0
	if haveAVX2 && len(d) >= MinLen {
		body = len(d) &^ 7
		sd, sdx = centeredDotsAVX2(body, &d[0], &x[0], mu)
	}
	for i := body; i < len(d); i++ {
		sd += float64(d[i])
		sdx += float64(d[i]) * (float64(x[i]) - mu)
	}
	return sd, sdx
}

// BNGrad adds k1·((d − k2) − (x − mu)·k3) to gx, every operation rounded
// to float32 in that order.
func BNGrad(gx, d, x []float32, k1, k2, k3, mu float32) {
	d, x = d[:len(gx)], x[:len(gx)]
	body := 0
	if haveAVX2 {
		body = len(gx) &^ 7
		if body > 0 {
			bnGradAVX2(body, &gx[0], &d[0], &x[0], &[4]float32{k1, k2, k3, mu})
		}
	}
	for i := body; i < len(gx); i++ {
		t := float32(x[i]-mu) * k3
		gx[i] += float32(k1 * float32(float32(d[i]-k2)-t))
	}
}

// Relu sets y[i] = max(x[i], 0) with Go's max: NaN stays NaN, −0 gives +0.
func Relu(y, x []float32) {
	y = y[:len(x)]
	body := 0
	if haveAVX2 {
		body = len(x) &^ 7
		if body > 0 {
			reluAVX2(body, &y[0], &x[0])
		}
	}
	for i := body; i < len(x); i++ {
		y[i] = max(x[i], 0)
	}
}

// ReluGrad adds dy[i] to dx[i] where x[i] > 0 (and +0 elsewhere).
func ReluGrad(dx, dy, x []float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	body := 0
	if haveAVX2 {
		body = len(dx) &^ 7
		if body > 0 {
			reluGradAVX2(body, &dx[0], &dy[0], &x[0])
		}
	}
	for i := body; i < len(dx); i++ {
		var d float32
		if x[i] > 0 {
			d = dy[i]
		}
		dx[i] += d
	}
}

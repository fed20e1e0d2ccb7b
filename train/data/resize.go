package data

import "math"

// This file reproduces Pillow's bilinear resampling of 8-bit images
// (libImaging/Resample.c), which torchvision's Resize uses on PIL images:
// a separable triangle filter whose support grows with the downscaling
// factor (antialiasing), coefficients in fixed point with 22 fractional
// bits, a horizontal pass then a vertical pass, each rounding to uint8.

const precisionBits = 32 - 8 - 2

// coeffs returns, for each output position, the first input index, the
// number of taps and the fixed-point weights (Pillow's precompute_coeffs
// and normalize_coeffs_8bpc for the bilinear filter, support 1).
func coeffs(inSize, outSize int) (bounds []int, ksize int, kk []int32) {
	scale := float64(inSize) / float64(outSize)
	filterscale := math.Max(scale, 1)
	support := 1.0 * filterscale
	ksize = int(math.Ceil(support))*2 + 1
	bounds = make([]int, outSize*2)
	kk = make([]int32, outSize*ksize)
	pre := make([]float64, ksize)
	for xx := 0; xx < outSize; xx++ {
		center := (float64(xx) + 0.5) * scale
		ss := 1 / filterscale
		xmin := int(center - support + 0.5) // C's (int) truncates toward zero
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			w := triangle((float64(x+xmin) - center + 0.5) * ss)
			pre[x] = w
			ww += w
		}
		for x := 0; x < ksize; x++ {
			w := 0.0
			if x < xmax && ww != 0 {
				w = pre[x] / ww
			}
			// normalize_coeffs_8bpc: round half away from zero.
			if w < 0 {
				kk[xx*ksize+x] = int32(-0.5 + w*(1<<precisionBits))
			} else {
				kk[xx*ksize+x] = int32(0.5 + w*(1<<precisionBits))
			}
		}
		bounds[2*xx], bounds[2*xx+1] = xmin, xmax
	}
	return bounds, ksize, kk
}

func triangle(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

func clip8(v int32) uint8 {
	if v >= 1<<precisionBits<<8 {
		return 255
	}
	if v <= 0 {
		return 0
	}
	return uint8(v >> precisionBits)
}

// resizeBilinear resizes an interleaved 8-bit image of ch channels from
// w×h to ow×oh exactly as Pillow's Image.resize(..., BILINEAR) does.
func resizeBilinear(src []uint8, w, h, ch, ow, oh int) []uint8 {
	if w == ow && h == oh {
		return append([]uint8(nil), src...)
	}
	hb, hk, hkk := coeffs(w, ow)
	vb, vk, vkk := coeffs(h, oh)
	img, iw, ih := src, w, h
	if ow != w {
		// Only the rows the vertical pass reads are resampled.
		first := vb[0]
		last := vb[2*oh-2] + vb[2*oh-1]
		if oh == h {
			first, last = 0, h
		}
		tmp := make([]uint8, ow*(last-first)*ch)
		for y := first; y < last; y++ {
			for xx := 0; xx < ow; xx++ {
				xmin, n := hb[2*xx], hb[2*xx+1]
				k := hkk[xx*hk:]
				for c := 0; c < ch; c++ {
					ss := int32(1 << (precisionBits - 1))
					for x := 0; x < n; x++ {
						ss += int32(img[((y)*iw+x+xmin)*ch+c]) * k[x]
					}
					tmp[((y-first)*ow+xx)*ch+c] = clip8(ss)
				}
			}
		}
		for i := 0; i < oh; i++ {
			vb[2*i] -= first
		}
		img, iw, ih = tmp, ow, last-first
	}
	_ = ih
	if oh == h {
		return img
	}
	out := make([]uint8, ow*oh*ch)
	for yy := 0; yy < oh; yy++ {
		ymin, n := vb[2*yy], vb[2*yy+1]
		k := vkk[yy*vk:]
		for xx := 0; xx < iw; xx++ {
			for c := 0; c < ch; c++ {
				ss := int32(1 << (precisionBits - 1))
				for y := 0; y < n; y++ {
					ss += int32(img[((y+ymin)*iw+xx)*ch+c]) * k[y]
				}
				out[(yy*iw+xx)*ch+c] = clip8(ss)
			}
		}
	}
	return out
}

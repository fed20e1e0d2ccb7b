package ir

import (
	"fmt"
	"slices"
)

// The sliding window of convolutions and pooling, in one place: shape
// inference computes output sizes with it (symbolic sizes included) and the
// executor's planners take their geometry from it (numbers).

// Window is the sliding window of a Conv, ConvTranspose or pooling node over
// its spatial axes: its attributes with ONNX's defaults (strides and
// dilations 1, pads 0, auto_pad NOTSET, ceil_mode 0, output_padding 0).
type Window struct {
	Kernel, Strides, Dilations []int64
	// Pads are the padding before each axis, then after each axis.
	Pads    []int64
	AutoPad string // NOTSET, VALID, SAME_UPPER or SAME_LOWER
	Ceil    bool   // ceil_mode
	// ConvTranspose only: output_padding (one per axis) and output_shape
	// (the spatial sizes, nil when absent).
	OutputPadding, OutputShape []int64
}

// NodeWindow reads node n's window over spatial axes with the given kernel
// (kernel_shape, or a weight's spatial dims), checking that every list has
// one value per axis (pads two), kernel, strides and dilations are
// positive, pads are not negative and auto_pad is known. dilations is false
// for an operator without that attribute (LpPool). ConvTranspose nodes also
// get output_padding and output_shape (which may list N and C too).
func NodeWindow(n *Node, spatial int, kernel []int64, dilations bool) (*Window, error) {
	w := &Window{Kernel: kernel, AutoPad: n.String("auto_pad", "NOTSET")}
	w.Strides = n.Ints("strides", ones(spatial))
	w.Dilations = ones(spatial)
	if dilations {
		w.Dilations = n.Ints("dilations", w.Dilations)
	}
	w.Pads = n.Ints("pads", make([]int64, 2*spatial))
	w.Ceil = n.Int("ceil_mode", 0) != 0
	switch {
	case len(w.Kernel) != spatial:
		return nil, fmt.Errorf("kernel_shape %v has %d entries for %d spatial dims", w.Kernel, len(w.Kernel), spatial)
	case len(w.Strides) != spatial:
		return nil, fmt.Errorf("strides %v has %d entries for %d spatial dims", w.Strides, len(w.Strides), spatial)
	case len(w.Dilations) != spatial:
		return nil, fmt.Errorf("dilations %v has %d entries for %d spatial dims", w.Dilations, len(w.Dilations), spatial)
	case len(w.Pads) != 2*spatial:
		return nil, fmt.Errorf("pads %v has %d entries, want %d", w.Pads, len(w.Pads), 2*spatial)
	}
	for i := 0; i < spatial; i++ {
		if w.Kernel[i] <= 0 || w.Strides[i] <= 0 || w.Dilations[i] <= 0 {
			return nil, fmt.Errorf("kernel_shape %v, strides %v and dilations %v must be positive", w.Kernel, w.Strides, w.Dilations)
		}
		if w.Pads[i] < 0 || w.Pads[i+spatial] < 0 {
			return nil, fmt.Errorf("pads %v are negative", w.Pads)
		}
	}
	switch w.AutoPad {
	case "NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return nil, fmt.Errorf("auto_pad %q is not NOTSET, VALID, SAME_UPPER or SAME_LOWER", w.AutoPad)
	}
	if n.OpType != "ConvTranspose" {
		return w, nil
	}
	w.OutputPadding = n.Ints("output_padding", make([]int64, spatial))
	if len(w.OutputPadding) != spatial {
		return nil, fmt.Errorf("output_padding %v has %d entries for %d spatial dims", w.OutputPadding, len(w.OutputPadding), spatial)
	}
	if os := n.Ints("output_shape", nil); os != nil {
		if len(os) == spatial+2 {
			os = os[2:]
		}
		if len(os) != spatial {
			return nil, fmt.Errorf("output_shape %v has %d entries for %d spatial dims", os, len(os), spatial)
		}
		w.OutputShape = os
	}
	return w, nil
}

// ConvKernel returns a Conv or ConvTranspose node's kernel and group
// count: kernel_shape, which must agree with the weight's spatial dims ws
// when both are known, else ws (nil when neither is known); group, by
// default 1, must be positive.
func ConvKernel(n *Node, ws []int64) (kernel []int64, group int64, err error) {
	group = n.Int("group", 1)
	if group < 1 {
		return nil, 0, fmt.Errorf("group %d is not positive", group)
	}
	kernel = n.Ints("kernel_shape", nil)
	switch {
	case kernel == nil:
		kernel = ws
	case ws != nil && !slices.Equal(kernel, ws):
		return nil, 0, fmt.Errorf("kernel_shape %v does not match the weight's kernel %v", kernel, ws)
	}
	return kernel, group, nil
}

func ones(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// Extent is the span of the kernel on axis i, dilation included:
// (k−1)·d + 1.
func (w *Window) Extent(i int) int64 { return (w.Kernel[i]-1)*w.Dilations[i] + 1 }

// pads returns axis i's explicit padding (none for VALID and SAME_*, whose
// padding follows from the sizes).
func (w *Window) pads(i int) (begin, end int64) {
	if w.AutoPad == "NOTSET" || w.AutoPad == "" {
		return w.Pads[i], w.Pads[i+len(w.Kernel)]
	}
	return 0, 0
}

// out computes output spatial size i for input size in.
//
//	NOTSET: floor((in + pb + pe − ((k−1)·d + 1)) / s) + 1, or with
//	        ceil_mode ceil(...) + 1 minus a last window that would start in
//	        the end padding (PyTorch's rule, also the ONNX spec's)
//	VALID:  ceil((in − ((k−1)·d + 1) + 1) / s)
//	SAME_*: ceil(in / s)
func (w *Window) out(i int, in sdim) sdim {
	s, keff := w.Strides[i], w.Extent(i)
	if w.AutoPad == "SAME_UPPER" || w.AutoPad == "SAME_LOWER" {
		return floorDivPlus(in, s-1, s)
	}
	pb, pe := w.pads(i)
	if !w.Ceil {
		return floorDivPlus(in, pb+pe-keff+s, s)
	}
	o := floorDivPlus(in, pb+pe-keff+2*s-1, s)
	if o.isConst() && in.isConst() && (o.k-1)*s >= in.k+pb {
		o.k--
	}
	return o
}

// OutSize is the output size of axis i over an input of size in (it can be
// less than 1 when the kernel does not fit; ok is false only on overflow).
func (w *Window) OutSize(i int, in int64) (out int64, ok bool) {
	o := w.out(i, cst(in))
	return o.k, o.isConst()
}

// PadsAt returns the padding of axis i over an input of size in: pads as
// given (NOTSET), none (VALID), or for SAME_* the total that makes the
// output ceil(in / s), with the odd unit at the end (SAME_UPPER) or at the
// start (SAME_LOWER).
func (w *Window) PadsAt(i int, in int64) (begin, end int64) {
	if w.AutoPad != "SAME_UPPER" && w.AutoPad != "SAME_LOWER" {
		return w.pads(i)
	}
	s := w.Strides[i]
	out := (in + s - 1) / s
	total := max(0, (out-1)*s+w.Extent(i)-in)
	return splitPad(total, w.AutoPad == "SAME_UPPER")
}

// splitPad halves a total padding; the odd unit goes at the end when
// upper, else at the start.
func splitPad(total int64, upper bool) (begin, end int64) {
	if upper {
		return total / 2, total - total/2
	}
	return total - total/2, total / 2
}

// transposedOut computes a ConvTranspose's output size i for input size
// in: output_shape when given, in·s for SAME_*, else
// s·(in − 1) + output_padding + ((k−1)·d + 1) − pb − pe.
func (w *Window) transposedOut(i int, in sdim) sdim {
	s := w.Strides[i]
	switch {
	case w.OutputShape != nil:
		return cst(w.OutputShape[i])
	case w.AutoPad == "SAME_UPPER" || w.AutoPad == "SAME_LOWER":
		return mulSize(in, cst(s))
	}
	pb, pe := w.pads(i)
	return addSize(mulSize(in, cst(s)), cst(w.OutputPadding[i]+w.Extent(i)-pb-pe-s))
}

// TransposedOutSize is a ConvTranspose's output size on axis i over an
// input of size in (ok is false on overflow).
func (w *Window) TransposedOutSize(i int, in int64) (out int64, ok bool) {
	o := w.transposedOut(i, cst(in))
	return o.k, o.isConst()
}

// TransposedPadsAt returns the padding of a ConvTranspose's axis i over an
// input of size in: pads as given (NOTSET) or none (VALID); with
// output_shape or SAME_* the total s·(in − 1) + output_padding + extent −
// out, the odd unit at the start unless SAME_UPPER (the ONNX spec's rule).
// The total is negative when output_shape asks for more than the
// unpadded output.
func (w *Window) TransposedPadsAt(i int, in int64) (begin, end int64) {
	if w.OutputShape == nil && w.AutoPad != "SAME_UPPER" && w.AutoPad != "SAME_LOWER" {
		return w.pads(i)
	}
	out, _ := w.TransposedOutSize(i, in)
	return splitPad(w.transposedFull(i, in)-out, w.AutoPad == "SAME_UPPER")
}

// transposedFull is a ConvTranspose's output size on axis i without
// padding.
func (w *Window) transposedFull(i int, in int64) int64 {
	return w.Strides[i]*(in-1) + w.OutputPadding[i] + w.Extent(i)
}

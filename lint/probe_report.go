package lint

import (
	"encoding/json"
	"math"
	"sort"
)

// ProbeReport is what the data-free probe (package lint/probe) measured: one
// forward and backward pass in train mode on seeded synthetic N(0,1) inputs.
// Probe rules (NN6xx) read it; the JSON formatter emits it.
type ProbeReport struct {
	Batch int    `json:"batch"`
	Seed  uint64 `json:"seed"`
	// Inputs are the synthetic inputs fed, with the sizes chosen for
	// symbolic dimensions.
	Inputs []ProbeInput `json:"inputs"`
	// Notes explain choices the probe made (sizes of symbolic dims other than
	// the batch, integer inputs, the loss).
	Notes []string `json:"notes,omitempty"`
	// Loss is the value of the synthetic loss (LossKind says which).
	Loss     float64 `json:"loss"`
	LossKind string  `json:"loss_kind"`
	// Layers are the weighted layers (Gemm, MatMul with a weight, Conv,
	// LSTM, ...) in graph order.
	Layers []ProbeLayer `json:"layers"`
	// ReLUs are the rectifiers (Relu, ReLU6 as Clip(0, 6), LeakyRelu is not
	// one) with their unit activity over the batch.
	ReLUs []ProbeReLU `json:"relus,omitempty"`
	// NonFinite names values (activations, gradients) that held NaN or Inf.
	NonFinite []string `json:"non_finite,omitempty"`
	// Shifts are the BatchNorm layers downstream of a Dropout with the
	// variance shift measured at each (Li et al., CVPR 2019).
	Shifts []ProbeShift `json:"variance_shifts,omitempty"`
}

// ProbeShift is the variance shift at one BatchNormalization: the probe
// runs the same batch twice in train mode, with the model's Dropout and
// with every Dropout off (what eval does), and compares the per-channel
// variance of the BatchNorm's input. Per channel the shift is
// max(v_drop/v_nodrop, v_nodrop/v_drop) (≥ 1; the paper's
// max(real_var/moving_var, moving_var/real_var)).
type ProbeShift struct {
	Node string `json:"node"`
	// Dropouts are the nearest Dropout nodes upstream; Through the weighted
	// layers between them and the BatchNorm (empty when Dropout feeds it
	// directly).
	Dropouts []string `json:"dropouts"`
	Through  []string `json:"through,omitempty"`
	Channels int      `json:"channels"`
	// Mean and Max are the mean and the largest per-channel shift.
	Mean float64 `json:"mean_shift"`
	Max  float64 `json:"max_shift"`
}

// ProbeInput is one synthetic input.
type ProbeInput struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	// Fill says what the values are ("N(0,1)", "integers in [0, 9]").
	Fill string `json:"fill"`
}

// ProbeLayer is one weighted layer's measurements.
type ProbeLayer struct {
	Node  string `json:"node"`
	Op    string `json:"op"`
	Param string `json:"param"` // the weight initializer
	// InStd and OutStd are the standard deviations of the layer's data input
	// and of its output (after the bias), over the whole batch.
	InStd  float64 `json:"input_std"`
	OutStd float64 `json:"output_std"`
	// WeightNorm and GradNorm are the L2 norms of the weight and of the
	// loss gradient with respect to it.
	WeightNorm float64 `json:"weight_norm"`
	GradNorm   float64 `json:"grad_norm"`
	// Elements is the number of weight values.
	Elements int `json:"elements"`
	// Substituted is set when the layer's weights were all zero by design
	// (a zero-initialized output head) and the probe measured with
	// LeCun-normal weights in their place; WeightNorm is the substitute's.
	Substituted bool `json:"substituted,omitempty"`
}

// RelGrad is ‖∇W‖/‖W‖, the relative change one SGD step of learning rate 1
// makes to the weights: unlike the raw norm it does not grow with the
// number of weights or with the weights' own scale. NaN for a layer
// without weights (or with all-zero weights).
func (l ProbeLayer) RelGrad() float64 {
	if l.WeightNorm == 0 {
		return math.NaN()
	}
	return l.GradNorm / l.WeightNorm
}

// GradFlow compares how fast the early and the late layers of ls learn:
// the median relative gradient (RelGrad) of the first quarter of the layers
// with the median of the last quarter (one layer each when there are fewer
// than eight). Medians over quarters keep a single odd layer — a small stem
// convolution, a classifier initialized at std 0.01 — from deciding the
// verdict for the whole network. Layers without a finite relative gradient
// and layers whose gradient is exactly 0 (see below) are left out; ok is
// false when fewer than two remain.
func GradFlow(ls []ProbeLayer) (early, late float64, ok bool) {
	var r []float64
	for _, l := range ls {
		// A gradient of exactly 0 is blocked by design, not vanishing: the
		// layers of a residual branch that a zero-initialized layer or
		// BatchNorm weight ends (Fixup, torchvision's zero_init_residual),
		// whose gradient flows once that layer has moved. Rounding never
		// takes a vanishing gradient to exactly 0 in float32 this early.
		if g := l.RelGrad(); !math.IsNaN(g) && !math.IsInf(g, 0) && g != 0 {
			r = append(r, g)
		}
	}
	if len(r) < 2 {
		return 0, 0, false
	}
	q := len(r) / 4
	if q < 1 {
		q = 1
	}
	return median(r[:q]), median(r[len(r)-q:]), true
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ProbeReLU is one rectifier's activity: a unit (a feature of a Linear
// output, a channel of a Conv output) is dead when it is never positive for
// any sample and position of the batch.
type ProbeReLU struct {
	Node  string `json:"node"`
	Op    string `json:"op"`
	Units int    `json:"units"`
	Dead  int    `json:"dead"`
}

// DeadFraction is Dead/Units.
func (r ProbeReLU) DeadFraction() float64 {
	if r.Units == 0 {
		return 0
	}
	return float64(r.Dead) / float64(r.Units)
}

// finite is a JSON number that encodes NaN and ±Inf (an exploding probe) as
// null, which JSON cannot otherwise carry.
type finite float64

func (f finite) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(x)
}

// MarshalJSON writes non-finite measurements as null.
func (l ProbeLayer) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Node       string `json:"node"`
		Op         string `json:"op"`
		Param      string `json:"param"`
		InStd      finite `json:"input_std"`
		OutStd     finite `json:"output_std"`
		WeightNorm finite `json:"weight_norm"`
		GradNorm   finite `json:"grad_norm"`
		Elements   int    `json:"elements"`
		Subst      bool   `json:"substituted,omitempty"`
	}{l.Node, l.Op, l.Param, finite(l.InStd), finite(l.OutStd), finite(l.WeightNorm), finite(l.GradNorm), l.Elements, l.Substituted})
}

// MarshalJSON writes a non-finite loss as null.
func (r ProbeReport) MarshalJSON() ([]byte, error) {
	type plain ProbeReport
	return json.Marshal(struct {
		plain
		Loss finite `json:"loss"`
	}{plain(r), finite(r.Loss)})
}

// MarshalJSON writes an infinite shift (a channel constant in one run
// only) as null.
func (s ProbeShift) MarshalJSON() ([]byte, error) {
	type plain ProbeShift
	return json.Marshal(struct {
		plain
		Mean finite `json:"mean_shift"`
		Max  finite `json:"max_shift"`
	}{plain(s), finite(s.Mean), finite(s.Max)})
}

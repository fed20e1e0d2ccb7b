package lint

import (
	"encoding/json"
	"math"
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
	}{l.Node, l.Op, l.Param, finite(l.InStd), finite(l.OutStd), finite(l.WeightNorm), finite(l.GradNorm)})
}

// MarshalJSON writes a non-finite loss as null.
func (r ProbeReport) MarshalJSON() ([]byte, error) {
	type plain ProbeReport
	return json.Marshal(struct {
		plain
		Loss finite `json:"loss"`
	}{plain(r), finite(r.Loss)})
}

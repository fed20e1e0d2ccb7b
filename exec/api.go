package exec

// This file is the contract between the executor and its users (train, the
// lint probe, cmd/nntrain predict). The implementation may add to it but
// should not change what is here without updating every user.

import (
	"github.com/nnkit/nnkit/ir"
	nt "github.com/nnkit/nnkit/tensor"
)

// Tensor is a dense row-major array (tensor.Tensor): float data in F,
// integer and bool data in I, according to DType. Programs take their
// inputs and return their outputs as Tensors.
type Tensor = nt.Tensor

// Mode selects eval or train semantics for Dropout and BatchNormalization.
type Mode int

const (
	// Eval: Dropout is the identity; BatchNormalization uses running stats.
	Eval Mode = iota
	// Train: Dropout draws a seeded Bernoulli mask and scales by 1/(1-p);
	// BatchNormalization normalizes with batch statistics and updates the
	// running statistics with PyTorch's rule.
	Train
)

// Options configure a Program.
type Options struct {
	// DropoutRatio, when OverrideDropout is set, replaces every Dropout's
	// ratio (nntrain --dropout; 0 turns dropout off for golden tests).
	OverrideDropout bool
	DropoutRatio    float32
	// Seed seeds the dropout masks: same seed, same bits.
	Seed uint64
	// Threads is the number of worker goroutines (0: runtime.NumCPU()).
	Threads int
	// InputGrads asks Backward to also compute gradients with respect to
	// the graph's data inputs (see InputGrad).
	InputGrads bool
	// Inference makes a forward-only program (nntrain predict): values
	// whose lifetimes do not overlap share memory, so a plan needs a
	// fraction of the memory; Backward returns an error and Value returns
	// nil for intermediate values. Convolution and Gemm weights are packed
	// for the matrix kernel when a plan is built, and a Relu or Clip that
	// only reads a convolution's output is applied by the convolution:
	// changing a weight's Param.Value after the first Run with given input
	// shapes does not affect that plan.
	Inference bool
	// Keep, when set on a training program, names the intermediate values
	// the caller will read with Value after a Run or with Grad after a
	// Backward. Every other value that no backward step reads shares
	// memory with values whose lifetimes do not overlap, as with
	// Inference, and Value returns nil for it. (Intermediate gradients
	// share buffers whether Keep is set or not; only those of values Keep
	// names stay readable with Grad.) nnlint's probe keeps only what it
	// measures: on a long chain of small layers without parameters this
	// frees nearly every activation (issue 9).
	Keep func(name string) bool
	// Watch and Observe, when both set, let the caller look at values
	// while Run computes them: Observe is called with every intermediate
	// value and graph output Watch selects, in the order the nodes run,
	// right after the node computing it. The Tensor is a view of the
	// executor's storage, valid only during the call (with Keep the value
	// may share memory with later ones): read it, do not keep or change
	// it. Values no node computes (inputs, parameters, constants, values
	// folded when the plan was built) are not observed: Value has them.
	// nnlint's probe takes its statistics this way instead of keeping
	// every value it measures (issue 9).
	Watch   func(name string) bool
	Observe func(name string, t *Tensor)
	// Stream, on a training program with Keep, builds the plan anew on
	// every Run and runs each node that neither depends on a trainable
	// parameter (nor on an input, with InputGrads) nor reads such a node's
	// output as soon as it is planned, then drops it: such nodes have no
	// backward step, so once their outputs are observed and consumed
	// nothing of them is needed. Value returns nil for their values not
	// kept; outputs, Backward and Grad are those of a plan without Stream.
	// A Program that runs once (nnlint's probe) needs no memory for the
	// plan of its parameter-free parts (issue 9); one that runs often pays
	// the plan's construction on every Run.
	Stream bool
	// Frozen names parameters to keep fixed (nntrain --freeze): they stay
	// in Params() with a nil Grad, so no gradient is computed for them and
	// optimizers keep no state for them, and work that only feeds their
	// gradients (backward through a frozen backbone) is skipped. A
	// BatchNormalization whose scale and bias are both frozen normalizes
	// with its running statistics and leaves them unchanged, also in Train
	// mode (torchvision's FrozenBatchNorm2d), unless TrainFrozenBatchNorm.
	Frozen map[string]bool
	// TrainFrozenBatchNorm keeps PyTorch's behaviour for a BatchNorm whose
	// affine parameters merely have requires_grad=False: in Train mode it
	// normalizes with batch statistics and updates its running statistics.
	TrainFrozenBatchNorm bool
	// ShareInitializers gives the model's float32 parameter and buffer
	// initializers to the program instead of copying them: each one's
	// contents become the program's storage, so the model holds the
	// current values at every moment (WriteBack has nothing left to copy
	// for them) and their bytes are not kept twice (onnxio's reader keeps
	// them in the file's buffer, which is dropped once nothing else uses
	// it: 0.5 GB for a VGG-11). The model must then not be compiled again,
	// nor its initializers changed, while the program lives: they are the
	// program's parameters. nntrain compiles this way. (On big-endian
	// hosts, whose float32 bytes are not ONNX's order, the values are
	// copied as without it.)
	ShareInitializers bool
	// MaxBytes is the memory budget of one plan (0: DefaultMaxBytes). A
	// Run whose input shapes would need more is refused with an error
	// wrapping a *BudgetError that names the value and its size.
	MaxBytes int64
}

// Param is one trainable parameter or buffer. Value is live: optimizers
// update it in place and the next Run sees the change.
type Param struct {
	Name  string
	Shape []int
	Value []float32
	// Grad accumulates dLoss/dValue over Backward calls until ZeroGrad.
	// Nil for buffers.
	Grad []float32
}

// InputSpec describes one data input the caller must feed.
type InputSpec struct {
	Name  string
	DType ir.DType
	// Shape has -1 for symbolic or unknown dimensions (the batch).
	Shape []int
}

package exec

import (
	"fmt"
	"math"

	"github.com/nnkit/nnkit/ir"
)

// DefaultMaxBytes is the memory budget of one plan when Options.MaxBytes is
// zero: the buffers of every value (and, for training programs, their
// gradients) and the larger scratch buffers of convolutions. A model whose
// shapes come from a hostile or broken file (a dimension near 2^31, an
// Expand to an absurd shape) is refused with a *BudgetError naming the
// value instead of exhausting memory. 4 GiB holds ResNet-50 training at
// batch 16 on 224×224 images; larger runs raise the budget explicitly. On
// 32-bit platforms, whose whole address space is 4 GiB, the default is
// 1 GiB (math.MaxInt/2) so that the budget, not the allocator, refuses.
const DefaultMaxBytes int64 = min(4<<30, math.MaxInt/2)

// maxElems bounds a single tensor's element count whatever the budget
// (also Run's input check), so that sizes never overflow int: 2^40 on
// 64-bit platforms; on 32-bit ones an int holds at most 2^31−1, and the
// bound is the element count whose int64 bytes (8 each) still fit,
// 2^28−1 (a 2 GiB tensor, as much as a 32-bit address space can give).
const maxElems = min(1<<40, math.MaxInt/8)

// BudgetError reports a value whose buffers would take the plan over its
// memory budget.
type BudgetError struct {
	Node  string // node computing the value ("" for a graph input)
	Value string // the value's name
	Shape []int
	Bytes int64 // what the value needs (0 when its size overflows)
	Used  int64 // what the plan had already reserved
	Limit int64
}

func (e *BudgetError) Error() string {
	where := fmt.Sprintf("value %q", e.Value)
	if e.Node != "" {
		where += " (computed by " + e.Node + ")"
	}
	if e.Bytes == 0 {
		return fmt.Sprintf("%s has shape %s: more than %d elements, which no buffer can hold", where, shapeStr(e.Shape), int64(maxElems))
	}
	return fmt.Sprintf("%s of shape %s needs %s; with %s already planned that exceeds the memory budget of %s (exec.Options.MaxBytes; NNKIT_MAX_MEMORY for nnlint and nntrain)",
		where, shapeStr(e.Shape), HumanBytes(e.Bytes), HumanBytes(e.Used), HumanBytes(e.Limit))
}

// HumanBytes formats a byte count with a binary unit.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, u := float64(n), 0
	for f >= unit && u < 5 {
		f /= unit
		u++
	}
	return fmt.Sprintf("%.1f %ciB", f, "KMGTPE"[u-1])
}

// checkedNumel is numel with overflow detection: ok is false when the
// product exceeds maxElems or a dimension is negative.
func checkedNumel(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d > 0 && n > maxElems/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// prod multiplies sizes, saturating at maxElems+1 (and treating a negative
// factor as overflow), for scratch sizes computed from file contents.
func prod(xs ...int) int {
	n := 1
	for _, x := range xs {
		if x < 0 || (x > 0 && n > maxElems/x) {
			return maxElems + 1
		}
		n *= x
	}
	return n
}

func (e *engine[T]) limit() int64 {
	if e.opts.MaxBytes > 0 {
		return e.opts.MaxBytes
	}
	return DefaultMaxBytes
}

func elemBytes[T Float](k kind) int64 {
	if k == kFloat {
		var z T
		switch any(z).(type) {
		case float32:
			return 4
		}
		return 8
	}
	return 8 // ints and bools are int64
}

// reserve charges a value of the given kind and shape to plan p, or
// returns a *BudgetError. Float values of a training program count twice:
// they may get a gradient buffer of the same size.
func (e *engine[T]) reserve(p *plan[T], node, value string, k kind, shape []int) error {
	n, ok := checkedNumel(shape)
	if !ok {
		return &BudgetError{Node: node, Value: value, Shape: shape, Limit: e.limit()}
	}
	b := int64(n) * elemBytes[T](k)
	if k == kFloat && !e.opts.Inference {
		b *= 2
	}
	if p.bytes+b > e.limit() {
		return &BudgetError{Node: node, Value: value, Shape: shape, Bytes: b, Used: p.bytes, Limit: e.limit()}
	}
	p.bytes += b
	return nil
}

// budgetPanic carries a *BudgetError out of an op's plan function, which
// cannot return one from nodeCtx.output; build recovers it.
type budgetPanic struct{ err *BudgetError }

// charge reserves n elements of scratch space for the node, or aborts the
// node's planning with a *BudgetError.
func (c *nodeCtx[T]) charge(n int, what string) {
	if n < 0 || n > maxElems {
		panic(budgetPanic{&BudgetError{Node: c.n.Label(), Value: what, Shape: []int{n}, Limit: c.e.limit()}})
	}
	if err := c.e.reserve(c.p, c.n.Label(), what, kFloat, []int{n}); err != nil {
		panic(budgetPanic{err.(*BudgetError)})
	}
}

// planNode runs an op's plan function, turning a budget overrun into an
// error.
func (e *engine[T]) planNode(def opDef[T], c *nodeCtx[T]) (err error) {
	defer func() {
		if r := recover(); r != nil {
			bp, ok := r.(budgetPanic)
			if !ok {
				panic(r)
			}
			err = bp.err
		}
	}()
	return def.plan(c)
}

func outputName(n *ir.Node, j int) string {
	if j < len(n.Outputs) && n.Outputs[j] != nil {
		return n.Outputs[j].Name
	}
	return fmt.Sprintf("%s output %d", n.Label(), j)
}

package exec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nnkit/nnkit/ir"
)

// Program is a compiled model, ready to run forward and backward. A
// Program is not safe for concurrent use; compile one per goroutine.
type Program struct {
	m       *ir.Model
	e       *engine[float32]
	specs   []InputSpec
	names   []string
	params  []*Param
	buffers []*Param
	outs    map[string]*Tensor
	shapes  [][]int
	kinds   []kind
}

// Compile checks that every node of m is supported (one error listing every
// unsupported op and the nodes using it, an *UnsupportedError) and prepares
// the parameters. Shapes are resolved on the first Run for each set of
// input shapes.
func Compile(m *ir.Model, opts Options) (*Program, error) {
	e, err := compileEngine[float32](m, opts)
	if err != nil {
		return nil, err
	}
	p := &Program{m: m, e: e, outs: map[string]*Tensor{}}
	for _, v := range e.inputs {
		spec := InputSpec{Name: v.Name, DType: v.Elem()}
		if k, ok := kindOf(spec.DType); ok {
			spec.DType = k.dtype()
		} else {
			spec.DType = ir.Float32
		}
		if s := v.Shape(); s != nil {
			spec.Shape = make([]int, len(s))
			for i, d := range s {
				spec.Shape[i] = -1
				if d.Known() {
					spec.Shape[i] = int(d.Value)
				}
			}
		}
		p.specs = append(p.specs, spec)
	}
	for _, v := range e.outputs {
		p.names = append(p.names, v.Name)
	}
	for _, s := range e.params {
		p.params = append(p.params, &Param{Name: s.name, Shape: s.shape, Value: s.value, Grad: s.grad})
	}
	for _, s := range e.buffers {
		p.buffers = append(p.buffers, &Param{Name: s.name, Shape: s.shape, Value: s.value})
	}
	p.shapes = make([][]int, len(e.inputs))
	p.kinds = make([]kind, len(e.inputs))
	return p, nil
}

// Inputs describes the data inputs Run needs.
func (p *Program) Inputs() []InputSpec { return p.specs }

// OutputNames lists the graph outputs, in order.
func (p *Program) OutputNames() []string { return p.names }

// Params returns the trainable parameters in initializer order. Value and
// Grad are the executor's own storage: update them in place.
func (p *Program) Params() []*Param { return p.params }

// Buffers returns the non-trainable state (BatchNorm running statistics),
// updated in place by Run in Train mode.
func (p *Program) Buffers() []*Param { return p.buffers }

// InputError reports an input that does not fit the model.
type InputError struct {
	Name string
	Msg  string
}

func (e *InputError) Error() string { return fmt.Sprintf("input %q: %s", e.Name, e.Msg) }

func specStr(s []int) string {
	if s == nil {
		return "[?]"
	}
	return ir.DimsString(s)
}

func (p *Program) checkInputs(inputs map[string]*Tensor) error {
	for i, s := range p.specs {
		t := inputs[s.Name]
		if t == nil {
			return &InputError{s.Name, "missing"}
		}
		k, ok := kindOf(t.DType)
		if !ok {
			return &InputError{s.Name, fmt.Sprintf("element type %s is not supported", t.DType)}
		}
		want, _ := kindOf(s.DType)
		if (k == kFloat) != (want == kFloat) {
			return &InputError{s.Name, fmt.Sprintf("element type %s, the model expects %s", t.DType, s.DType)}
		}
		if s.Shape != nil {
			bad := len(t.Shape) != len(s.Shape)
			for j := 0; !bad && j < len(s.Shape); j++ {
				bad = s.Shape[j] >= 0 && s.Shape[j] != t.Shape[j]
			}
			if bad {
				return &InputError{s.Name, fmt.Sprintf("shape %s, the model expects %s", shapeStr(t.Shape), specStr(s.Shape))}
			}
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return &InputError{s.Name, fmt.Sprintf("negative dimension in shape %s", shapeStr(t.Shape))}
			}
			if d > 0 && n > maxElems/d {
				return &InputError{s.Name, fmt.Sprintf("shape %s has too many elements", shapeStr(t.Shape))}
			}
			n *= d
		}
		have := len(t.I)
		if k == kFloat {
			have = len(t.F)
		}
		if have != n {
			return &InputError{s.Name, fmt.Sprintf("shape %s needs %d values, the tensor holds %d", shapeStr(t.Shape), n, have)}
		}
		p.shapes[i] = t.Shape
		p.kinds[i] = k
	}
	if len(inputs) > len(p.specs) {
		var extra []string
		for name := range inputs {
			found := false
			for _, s := range p.specs {
				found = found || s.Name == name
			}
			if !found {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		return &InputError{extra[0], fmt.Sprintf("the model has no such input (inputs: %s)", strings.Join(p.inputNames(), ", "))}
	}
	return nil
}

func (p *Program) inputNames() []string {
	var s []string
	for _, x := range p.specs {
		s = append(s, x.Name)
	}
	return s
}

// Run computes the graph outputs. In Train mode Dropout draws its masks
// from (Options.Seed, the step counter) and BatchNormalization uses batch
// statistics and updates the running statistics. The returned map and
// tensors are reused by the next Run.
func (p *Program) Run(mode Mode, inputs map[string]*Tensor) (map[string]*Tensor, error) {
	if err := p.checkInputs(inputs); err != nil {
		return nil, err
	}
	if p.e.streaming() { // the plan's build runs nodes (stream.go)
		p.e.feed = func(pl *plan[float32]) { p.feed(pl, inputs) }
		p.e.streamMode = mode
		defer func() { p.e.feed = nil }()
	}
	pl, err := p.e.planFor(p.shapes, p.kinds)
	if err != nil {
		return nil, fmt.Errorf("exec: input shapes %s: %w", p.shapeList(), err)
	}
	if !p.e.streaming() {
		p.feed(pl, inputs)
	}
	if err := p.e.run(pl, mode); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	for i, name := range p.names {
		p.outs[name] = pl.outputs[i].public()
	}
	return p.outs, nil
}

// feed copies the inputs into the plan's input tensors.
func (p *Program) feed(pl *plan[float32], inputs map[string]*Tensor) {
	for i, s := range p.specs {
		t, dst := inputs[s.Name], pl.inputs[i]
		if dst.kind == kFloat {
			copy(dst.f, t.F)
		} else {
			copy(dst.i, t.I)
			if dst.kind == kBool {
				for j, v := range dst.i {
					if v != 0 {
						dst.i[j] = 1
					}
				}
			}
		}
	}
}

func (p *Program) shapeList() string {
	parts := make([]string, len(p.specs))
	for i, s := range p.specs {
		parts[i] = s.Name + " " + shapeStr(p.shapes[i])
	}
	return strings.Join(parts, ", ")
}

// Backward propagates dLoss/dOutput (outGrads, by output name; outputs not
// in the map get zero) back through the last Run and ADDS the result to
// every Param.Grad (and, with Options.InputGrads, the input gradients).
func (p *Program) Backward(outGrads map[string]*Tensor) error {
	if !p.e.ran {
		return fmt.Errorf("exec: Backward called without a successful Run")
	}
	if p.e.opts.Inference {
		return fmt.Errorf("exec: Backward on a program compiled with Options.Inference")
	}
	pl := p.e.last
	for name, g := range outGrads {
		i := -1
		for j, n := range p.names {
			if n == name {
				i = j
			}
		}
		if i < 0 {
			return fmt.Errorf("exec: Backward: %q is not a graph output (outputs: %s)", name, strings.Join(p.names, ", "))
		}
		o := pl.outputs[i]
		if o.kind != kFloat {
			return fmt.Errorf("exec: Backward: output %q has element type %s and no gradient", name, o.kind)
		}
		if !sameShape(g.Shape, o.shape) || len(g.F) != o.size {
			return fmt.Errorf("exec: Backward: gradient for %q has shape %s (%d values), the output is %s", name, shapeStr(g.Shape), len(g.F), shapeStr(o.shape))
		}
	}
	return p.e.backward(func(i int, dst []float32) {
		if g := outGrads[p.names[i]]; g != nil {
			for j, v := range g.F {
				dst[j] += v
			}
		}
	})
}

// ZeroGrad sets every Param.Grad to zero.
func (p *Program) ZeroGrad() { p.e.zeroGrad() }

// InputGrad returns dLoss/dInput from the last Backward (nil without
// Options.InputGrads, or for an input the outputs do not depend on).
func (p *Program) InputGrad(name string) *Tensor {
	if p.e.last == nil {
		return nil
	}
	for i, s := range p.specs {
		if s.Name == name {
			t := p.e.last.inputs[i]
			if t.g == nil {
				return nil
			}
			return &Tensor{DType: ir.Float32, Shape: t.shape, F: t.g}
		}
	}
	return nil
}

// Value returns any value of the last Run by name: an input, an
// intermediate, an output, a parameter or a constant (nil if unknown or
// not computed, and for a BatchNormalization output that the Relu reading
// it overwrote in place, as training programs without Options.Keep do;
// name it in Keep to read it). It is valid until the next Run.
func (p *Program) Value(name string) *Tensor {
	if p.e.last == nil {
		return nil
	}
	v := p.e.g.Value(name)
	if v == nil {
		return nil
	}
	t := p.e.last.vals[v]
	if t == nil || t.shared || t.clobbered || t.size > 0 && t.f == nil && t.i == nil {
		return nil
	}
	return t.public()
}

// Grad returns a gradient from the last Backward: of a parameter (the
// accumulated Param.Grad), a graph input or output, or an intermediate value
// named by Options.Keep; nil for a value not on a gradient path and for
// other intermediate values, whose gradient buffers Backward reuses once
// it is past them (as PyTorch keeps .grad only for leaves unless asked).
func (p *Program) Grad(name string) *Tensor {
	if p.e.last == nil {
		return nil
	}
	v := p.e.g.Value(name)
	if v == nil {
		return nil
	}
	t := p.e.last.vals[v]
	if t == nil || t.g == nil || t.gshared {
		return nil
	}
	return &Tensor{DType: ir.Float32, Shape: t.shape, F: t.g}
}

// SetDropout overrides every Dropout's ratio (override=false restores the
// model's own ratios). Ratio 0 turns dropout off.
func (p *Program) SetDropout(override bool, ratio float32) {
	p.e.opts.OverrideDropout, p.e.opts.DropoutRatio = override, ratio
}

// Step is the number of Train-mode Runs so far (it keys the dropout masks).
func (p *Program) Step() uint64 { return p.e.step }

// SetStep sets the step counter, e.g. when resuming a training run, so that
// dropout masks continue where they left off.
func (p *Program) SetStep(step uint64) { p.e.step = step }

// WriteBack copies the current parameter and buffer values into the
// model's initializers, so that writing the model saves the trained state.
// Initializers that share the program's storage (Options.ShareInitializers)
// already hold it and are left as they are.
func (p *Program) WriteBack() error {
	for _, list := range [][]*param[float32]{p.e.params, p.e.buffers} {
		for _, s := range list {
			if rawShares(s.v.Init, s.value) {
				continue
			}
			if err := s.v.Init.SetFloat32s(s.value); err != nil {
				return fmt.Errorf("exec: WriteBack %q: %w", s.name, err)
			}
		}
	}
	return nil
}

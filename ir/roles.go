package ir

// Role is what a value is to training: data flowing through the graph, a
// trainable parameter, a buffer (state updated but not trained, such as
// BatchNorm running statistics), or a constant.
type Role int

// Roles.
const (
	RoleActivation Role = iota // computed by a node
	RoleInput                  // fed by the caller
	RoleParameter              // trainable weight
	RoleBuffer                 // non-trainable state (BatchNorm running mean/var)
	RoleConstant               // fixed constant: integer tensors, shapes, Constant outputs
)

func (r Role) String() string {
	return [...]string{"activation", "input", "parameter", "buffer", "constant"}[r]
}

// nonLearnedSlots lists, per op type, the input positions that carry
// configuration rather than learnable data: a float initializer read only
// through such slots is a constant (Clip bounds, Dropout ratio, Pow
// exponent, Pad value, Resize scales, ...).
var nonLearnedSlots = map[string][]int{
	"Clip":            {1, 2},
	"Dropout":         {1, 2},
	"Pow":             {1},
	"Pad":             {1, 2, 3},
	"Resize":          {1, 2, 3},
	"Upsample":        {1},
	"Reshape":         {1},
	"Expand":          {1},
	"Tile":            {1},
	"Slice":           {1, 2, 3, 4},
	"Gather":          {1},
	"GatherElements":  {1},
	"ConstantOfShape": {0},
	"Range":           {0, 1, 2},
	"Squeeze":         {1},
	"Unsqueeze":       {1},
	"ReduceSum":       {1},
	"ReduceMean":      {1},
	"ReduceMax":       {1},
	"ReduceMin":       {1},
	"ReduceProd":      {1},
	"ReduceL2":        {1},
	"Split":           {1},
	"TopK":            {1},
	"OneHot":          {1, 2},
	"CumSum":          {1},
	"Where":           {0},
	"Trilu":           {1},
}

// IsBufferSlot reports whether input slot i of op holds non-trainable state
// (BatchNorm's running mean and variance).
func IsBufferSlot(op string, i int) bool {
	return op == "BatchNormalization" && (i == 3 || i == 4)
}

func isNonLearnedSlot(op string, i int) bool {
	for _, s := range nonLearnedSlots[op] {
		if s == i {
			return true
		}
	}
	return false
}

// Role classifies v. Initializers are parameters when floating-point and
// read by at least one node as learnable data; BatchNorm running statistics
// are buffers; integer and bool tensors, Constant outputs and floats read
// only as configuration (Clip bounds, Dropout ratio, ...) are constants.
func (v *Value) Role() Role {
	switch {
	case v.Init == nil && v.Producer != nil && v.Producer.OpType == "Constant":
		return RoleConstant
	case v.Init == nil && v.IsInput:
		return RoleInput
	case v.Init == nil:
		return RoleActivation
	}
	if !v.Init.DType.IsFloat() {
		return RoleConstant
	}
	buffer, learned := false, false
	for _, u := range v.Uses {
		if u.Index < 0 {
			learned = true // read inside a subgraph: assume learnable
			continue
		}
		switch {
		case IsBufferSlot(u.Node.OpType, u.Index):
			buffer = true
		case !isNonLearnedSlot(u.Node.OpType, u.Index):
			learned = true
		}
	}
	switch {
	case buffer && !learned:
		return RoleBuffer
	case learned:
		return RoleParameter
	case len(v.Uses) == 0:
		// An unused float initializer: report it as a parameter, as
		// PyTorch would count an unused module's weights.
		return RoleParameter
	}
	return RoleConstant
}

// Parameters returns the trainable initializers in file order.
func (g *Graph) Parameters() []*Value { return g.initsWithRole(RoleParameter) }

// Buffers returns the non-trainable state initializers in file order.
func (g *Graph) Buffers() []*Value { return g.initsWithRole(RoleBuffer) }

func (g *Graph) initsWithRole(r Role) []*Value {
	var out []*Value
	for _, v := range g.Initializers {
		if v.Role() == r {
			out = append(out, v)
		}
	}
	return out
}

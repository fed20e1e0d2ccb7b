package summary

import (
	"strings"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// Summary is the result of Build.
type Summary struct {
	Model      string   `json:"model"`
	Producer   string   `json:"producer,omitempty"`
	IRVersion  int64    `json:"ir_version"`
	Opset      int64    `json:"opset"`
	ExportMode string   `json:"export_mode"`
	Inputs     []IO     `json:"inputs"`
	Outputs    []IO     `json:"outputs"`
	Totals     Totals   `json:"totals"`
	Layers     []Layer  `json:"layers"`
	Notes      []string `json:"notes,omitempty"`
}

// IO is a graph input or output.
type IO struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []any  `json:"shape"` // ints, or strings for symbolic dims
}

// Totals are whole-model figures.
type Totals struct {
	// Params counts every parameter once. ONNX keeps no requires_grad
	// flag, so all parameters are trainable and Params equals
	// TrainableParams.
	Params          int64 `json:"params"`
	TrainableParams int64 `json:"trainable_params"`
	// Buffers counts non-trainable state (BatchNorm running statistics).
	Buffers int64 `json:"buffers"`
	// MACs are multiply-accumulates per sample (symbolic dims set to 1) of
	// Conv, ConvTranspose, Gemm, MatMul and recurrent layers.
	MACs int64 `json:"macs"`
	// Bytes is the storage of parameters and buffers.
	Bytes int64 `json:"bytes"`
}

// Layer is one node.
type Layer struct {
	Name string `json:"name"`
	Op   string `json:"op"`
	// OutputShape is the first output's shape (nil when unknown).
	OutputShape []any `json:"output_shape"`
	// Params counts parameters first used by this layer; SharedParams
	// those it uses that an earlier layer already counted.
	Params       int64 `json:"params"`
	SharedParams int64 `json:"shared_params,omitempty"`
	Buffers      int64 `json:"buffers,omitempty"`
	MACs         int64 `json:"macs"`
}

// passThrough ops move or reshape a weight on its way to the layer that
// uses it; parameters are attributed past them.
var passThrough = map[string]bool{
	"Identity": true, "Slice": true, "Concat": true, "Transpose": true, "Unsqueeze": true,
	"Squeeze": true, "Reshape": true, "Cast": true, "Split": true, "Flatten": true,
}

// Build summarizes m. Shape inference runs on m's graph (filling value
// types); layers whose shapes cannot be inferred show none and a note says
// which ops were not understood.
func Build(m *ir.Model, name string) (*Summary, error) {
	g := m.Graph
	s := &Summary{Model: name, IRVersion: m.IRVersion, Opset: m.Opset("")}
	if m.ProducerName != "" {
		s.Producer = strings.TrimSpace(m.ProducerName + " " + m.ProducerVersion)
	}
	rep, err := ir.InferShapes(m)
	if err != nil {
		s.Notes = append(s.Notes, "shape inference found inconsistencies: "+strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if rep != nil && !rep.Complete() {
		s.Notes = append(s.Notes, "shapes unknown after ops: "+strings.Join(rep.UnsupportedOps(), ", "))
	}
	order, err := g.TopoOrder()
	if err != nil {
		return nil, err
	}
	for _, v := range g.DataInputs() {
		s.Inputs = append(s.Inputs, IO{Name: v.Name, DType: v.Elem().String(), Shape: jsonShape(v.Shape())})
	}
	for _, v := range g.Outputs {
		s.Outputs = append(s.Outputs, IO{Name: v.Name, DType: v.Elem().String(), Shape: jsonShape(v.Shape())})
	}

	// Attribute each parameter and buffer to its first real user.
	pos := map[*ir.Node]int{}
	for i, n := range order {
		pos[n] = i
	}
	owner := map[*ir.Value]*ir.Node{}
	uses := map[*ir.Node][]*ir.Value{} // node → every parameter it reads (through pass-through ops)
	buffers := map[*ir.Node]int64{}    // node → buffer elements it owns
	for _, v := range g.Initializers {
		r := v.Role()
		if r != ir.RoleParameter && r != ir.RoleBuffer {
			continue
		}
		users := realUsers(v)
		first := firstUser(users, pos)
		if first == nil {
			continue
		}
		if r == ir.RoleBuffer {
			buffers[first] += v.Init.Len()
			continue
		}
		owner[v] = first
		for _, u := range users {
			uses[u] = append(uses[u], v)
		}
	}
	rows := make([]Layer, 0, len(order))
	for _, n := range order {
		l := Layer{Name: n.Label(), Op: n.OpType, MACs: macs(n), Buffers: buffers[n]}
		if out := n.Out(0); out != nil {
			l.OutputShape = jsonShape(out.Shape())
		}
		for _, p := range uses[n] {
			if owner[p] == n {
				l.Params += p.Init.Len()
			} else {
				l.SharedParams += p.Init.Len()
			}
		}
		rows = append(rows, l)
		s.Totals.MACs += l.MACs
	}
	s.Layers = rows
	for _, v := range g.Parameters() {
		s.Totals.Params += v.Init.Len()
		s.Totals.Bytes += int64(len(v.Init.Raw))
	}
	s.Totals.TrainableParams = s.Totals.Params
	for _, v := range g.Buffers() {
		s.Totals.Buffers += v.Init.Len()
		s.Totals.Bytes += int64(len(v.Init.Raw))
	}
	s.ExportMode = exportMode(m, name)
	// nntrain labels the graphs it writes (train/export's metadata key):
	// its inference graph may show no mode at all (Dropout removed from a
	// model without BatchNorm).
	nntrainGraph := ""
	for _, p := range m.Metadata {
		if p.Key == "nnkit.graph" && (p.Value == "inference" || p.Value == "training") {
			nntrainGraph = p.Value
		}
	}
	switch {
	case nntrainGraph == "inference":
		s.ExportMode = "inference"
		s.Notes = append(s.Notes, "inference graph written by nntrain (BatchNorm on running statistics, Dropout removed): "+
			"for deployment; to fine-tune further use the training graph (nntrain --keep-training-graph)")
	case nntrainGraph == "training" && s.ExportMode == "unknown":
		s.ExportMode = "training"
	case s.ExportMode == "inference":
		s.Notes = append(s.Notes, "inference-mode export (PyTorch's default): BatchNorm may be folded into Conv and Dropout removed, "+
			"so counts can differ from the PyTorch model's; for fine-tuning export with "+
			"training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False")
	}
	return s, nil
}

// firstUser is the earliest (in topological order) of a value's real
// users.
func firstUser(users []*ir.Node, pos map[*ir.Node]int) *ir.Node {
	var best *ir.Node
	for _, u := range users {
		if best == nil || pos[u] < pos[best] {
			best = u
		}
	}
	return best
}

// realUsers lists the nodes that really compute with v: its consumers,
// looking through pass-through ops. A pass-through node that leads to no
// real user (its output is a graph output, say) counts as the user.
func realUsers(v *ir.Value) []*ir.Node {
	memo := map[*ir.Node][]*ir.Node{}
	var reach func(n *ir.Node, depth int) []*ir.Node
	reach = func(n *ir.Node, depth int) []*ir.Node {
		if r, ok := memo[n]; ok {
			return r
		}
		memo[n] = nil // cycle guard
		if !passThrough[n.OpType] || depth >= 8 {
			memo[n] = []*ir.Node{n}
			return memo[n]
		}
		var r []*ir.Node
		for _, o := range n.Outputs {
			if o == nil {
				continue
			}
			for _, c := range o.Consumers() {
				r = append(r, reach(c, depth+1)...)
			}
		}
		if len(r) == 0 {
			r = []*ir.Node{n}
		}
		memo[n] = r
		return r
	}
	var out []*ir.Node
	seen := map[*ir.Node]bool{}
	for _, c := range v.Consumers() {
		for _, u := range reach(c, 0) {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	return out
}

// exportMode classifies the export with lint's classifier (the one NN501
// uses), so nnlint summary and nnlint agree.
func exportMode(m *ir.Model, name string) string {
	f, err := lint.NewFacts(m, name)
	if err != nil {
		return string(lint.UnknownExport)
	}
	return string(f.ClassifyExport().Mode)
}

// perSample evaluates a dimension for one sample: every symbol (batch,
// and any other symbolic size) set to 1.
func perSample(d ir.Dim) (int64, bool) {
	env := map[string]int64{}
	for _, sym := range (ir.Shape{d}).Symbols() {
		env[sym] = 1
	}
	return d.Eval(env)
}

func numelPerSample(s ir.Shape) (int64, bool) {
	if s == nil {
		return 0, false
	}
	n := int64(1)
	for _, d := range s {
		k, ok := perSample(d)
		if !ok {
			return 0, false
		}
		n *= k
	}
	return n, true
}

func dimPerSample(s ir.Shape, i int) (int64, bool) {
	if i < 0 {
		i += len(s)
	}
	if s == nil || i < 0 || i >= len(s) {
		return 0, false
	}
	return perSample(s[i])
}

func constNumel(v *ir.Value) int64 {
	if v == nil {
		return 0
	}
	if t := v.ConstTensor(); t != nil {
		return t.Len()
	}
	if s, ok := v.Shape().Static(); ok {
		n, _ := ir.NumElements(s)
		return n
	}
	return 0
}

// macs is the multiply-accumulate count per sample of one node (0 for
// ops without a weighted inner product).
func macs(n *ir.Node) int64 {
	out := n.Out(0)
	switch n.OpType {
	case "Conv":
		w := n.In(1)
		ws, ok := w.Shape().Static()
		if !ok || len(ws) < 2 || ws[0] == 0 {
			return 0
		}
		outN, ok := numelPerSample(out.Shape())
		if !ok {
			return 0
		}
		perOut := int64(1)
		for _, d := range ws[1:] {
			perOut *= d
		}
		return outN * perOut
	case "ConvTranspose":
		ws, ok := n.In(1).Shape().Static()
		if !ok || len(ws) < 2 {
			return 0
		}
		inN, ok := numelPerSample(n.In(0).Shape())
		if !ok || ws[0] == 0 {
			return 0
		}
		perIn := int64(1)
		for _, d := range ws[1:] {
			perIn *= d
		}
		return inN * perIn
	case "Gemm":
		k, ok := dimPerSample(n.In(0).Shape(), 1)
		if n.Int("transA", 0) != 0 {
			k, ok = dimPerSample(n.In(0).Shape(), 0)
		}
		outN, ok2 := numelPerSample(out.Shape())
		if !ok || !ok2 {
			return 0
		}
		return outN * k
	case "MatMul":
		a := n.In(0).Shape()
		k, ok := dimPerSample(a, -1)
		if len(a) == 1 {
			k, ok = dimPerSample(a, 0)
		}
		outN, ok2 := numelPerSample(out.Shape())
		if !ok || !ok2 {
			return 0
		}
		return outN * k
	case "LSTM", "GRU", "RNN":
		timeAxis := 0 // X [T, N, I], or batch-first [N, T, I]
		if ra, err := ir.RecurrentAttrs(n); err == nil && ra.BatchFirst {
			timeAxis = 1
		}
		t, ok := dimPerSample(n.In(0).Shape(), timeAxis)
		if !ok {
			return 0
		}
		return t * (constNumel(n.In(1)) + constNumel(n.In(2)))
	}
	return 0
}

func jsonShape(s ir.Shape) []any {
	if s == nil {
		return nil
	}
	out := make([]any, len(s))
	for i, d := range s {
		if d.Known() {
			out[i] = d.Value
		} else {
			out[i] = d.String()
		}
	}
	return out
}

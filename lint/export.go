package lint

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/nnkit/nnkit/ir"
)

// ExportMode says how torch.onnx.export produced a file.
type ExportMode string

// Export modes.
const (
	// TrainingExport: TrainingMode.TRAINING (BatchNorm on batch
	// statistics, Dropout drawing masks).
	TrainingExport ExportMode = "training"
	// InferenceExport: the default eval-mode export (BatchNorm on running
	// statistics or folded into Convs, Dropout removed, constants folded).
	InferenceExport ExportMode = "inference"
	// UnknownExport: nothing in the graph depends on the mode (no
	// BatchNorm, no Dropout, nothing folded).
	UnknownExport ExportMode = "unknown"
)

// ExportEvidence is what the graph shows about its export mode.
type ExportEvidence struct {
	Mode ExportMode
	// Training and Inference list the evidence for each mode in words;
	// First is the earliest node carrying inference evidence.
	Training, Inference []string
	First               *ir.Node
}

// sequentialStep matches the last module of a node name PyTorch's exporter
// writes, "/classifier/classifier.4/Gemm": the parent path, the child's
// index in its nn.Sequential (or ModuleList), and the op.
var sequentialStep = regexp.MustCompile(`^(.*/)((?:[^/]*\.)?)(\d+)/[^/]+$`)

// ClassifyExport tells a training export from an inference export.
// Training evidence: a BatchNormalization computing batch statistics
// (training_mode = 1, or more than one output before opset 14), a Dropout
// with training_mode = true and a ratio above 0. A Dropout with ratio 0 is
// evidence of nothing: torchvision's Swin calls F.dropout(p=0) with
// training on even in eval mode, and it computes the identity either way.
// Inference evidence: BatchNormalization on running statistics, Conv weights
// named onnx::Conv_* (a folded BatchNorm) and other weights renamed onnx::*
// by constant folding, Identity nodes copying initializers, and modules of
// an nn.Sequential that left no node where a weighted layer follows
// (classifier.0 before classifier.1/Gemm: the Dropout an eval export
// removes, as in AlexNet and VGG). Training evidence wins.
func (f *Facts) ClassifyExport() ExportEvidence {
	f.exportOnce.Do(func() { f.export = f.classifyExport() })
	return f.export
}

func (f *Facts) classifyExport() ExportEvidence {
	var ev ExportEvidence
	opset := f.Model.Opset("")
	note := func(n *ir.Node) {
		if ev.First == nil || f.Position(n) < f.Position(ev.First) {
			ev.First = n
		}
	}
	var bnTrain, bnEval, dropTrain, ident, folded, renamed int
	names := make(map[string]bool, len(f.Order))
	for _, n := range f.Order {
		// Every module path a node lives under: /a, /a/a.1, ...
		for i := 1; i < len(n.Name); i++ {
			if n.Name[i] == '/' {
				names[n.Name[:i]] = true
			}
		}
		switch n.OpType {
		case "BatchNormalization":
			outs := 0
			for _, o := range n.Outputs {
				if o != nil {
					outs++
				}
			}
			eval := opset >= 14 || outs == 1 // training_mode defaults to 0 from opset 14
			if n.HasAttr("training_mode") {
				eval = n.Int("training_mode", 0) == 0
			}
			if eval {
				bnEval++
				note(n)
			} else {
				bnTrain++
			}
		case "Dropout":
			if dropoutTraining(n) {
				dropTrain++
			}
		case "Identity":
			if v := n.In(0); v != nil && v.Init != nil {
				ident++
				note(n)
			}
		}
	}
	for _, l := range f.Layers {
		switch {
		case l.Folded:
			folded++
			note(l.Node)
		case l.Weight != nil && strings.HasPrefix(l.Weight.Name, "onnx::"):
			renamed++
			note(l.Node)
		}
	}
	// Sequential children that left no node before a weighted layer.
	var gaps []string
	for _, l := range f.Layers {
		m := sequentialStep.FindStringSubmatch(l.Node.Name)
		if m == nil {
			continue
		}
		k, err := strconv.Atoi(m[3])
		if err != nil || k == 0 {
			continue
		}
		prev := m[1] + m[2] + strconv.Itoa(k-1)
		if !names[prev] {
			gaps = append(gaps, strings.TrimPrefix(prev, "/"))
			note(l.Node)
		}
	}
	if bnTrain > 0 {
		ev.Training = append(ev.Training, fmt.Sprintf("%d BatchNormalization on batch statistics", bnTrain))
	}
	if dropTrain > 0 {
		ev.Training = append(ev.Training, fmt.Sprintf("%d Dropout with training_mode on", dropTrain))
	}
	if folded > 0 {
		ev.Inference = append(ev.Inference, countPhrase(folded, "Conv carries a folded BatchNorm", "Convs carry a folded BatchNorm")+" (weights renamed onnx::Conv_*)")
	}
	if bnEval > 0 {
		ev.Inference = append(ev.Inference, countPhrase(bnEval, "BatchNormalization uses", "BatchNormalizations use")+" running statistics (eval mode)")
	}
	if renamed > 0 {
		ev.Inference = append(ev.Inference, countPhrase(renamed, "layer reads", "layers read")+" weights renamed onnx::* by constant folding")
	}
	if ident > 0 {
		ev.Inference = append(ev.Inference, countPhrase(ident, "Identity node copies", "Identity nodes copy")+" de-duplicated initializers")
	}
	for _, kv := range f.Model.Metadata {
		if kv.Key == "nnkit.graph" && kv.Value == "inference" {
			ev.Inference = append(ev.Inference, "nntrain wrote it as an inference graph (metadata nnkit.graph)")
		}
	}
	if len(gaps) > 0 {
		if len(gaps) > 3 {
			gaps = append(gaps[:3], "...")
		}
		ev.Inference = append(ev.Inference, fmt.Sprintf("module %s left no node before the next weighted layer (an eval export removes Dropout there)", strings.Join(gaps, ", ")))
	}
	switch {
	case len(ev.Training) > 0:
		ev.Mode = TrainingExport
	case len(ev.Inference) > 0:
		ev.Mode = InferenceExport
	default:
		ev.Mode = UnknownExport
	}
	return ev
}

// dropoutTraining reports whether a Dropout node draws masks: its
// training_mode input is a constant true and its ratio is not 0.
func dropoutTraining(n *ir.Node) bool {
	t := n.In(2)
	if t == nil {
		return false
	}
	c := t.ConstTensor()
	if c == nil {
		return true // computed at run time: assume it may be on
	}
	v, err := c.Int64s()
	if err != nil || len(v) != 1 || v[0] == 0 {
		return err != nil
	}
	if r := n.In(1); r != nil {
		if x, ok := ConstScalar(r); ok && x == 0 {
			return false
		}
	}
	return true
}

func countPhrase(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

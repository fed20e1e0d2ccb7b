package rules

import (
	"strings"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// InferenceExport (NN501) recognizes files exported for inference.
var InferenceExport = &lint.Rule{
	ID:       "NN501",
	Name:     "inference-export",
	Severity: lint.Info,
	Doc: doc(
		"Inference-only export: BatchNorm folded or frozen, Dropout removed",
		"",
		"Why: torch.onnx.export defaults to eval mode with constant folding. Dropout disappears,",
		"BatchNorm after a Conv is folded into the Conv's weights and bias (renamed onnx::Conv_*),",
		"the remaining BatchNorm nodes use their running statistics, and de-duplicated",
		"initializers come back as Identity nodes. Such a file computes the same predictions, but",
		"it is a different model to train: no dropout, no batch statistics, weights that are no",
		"longer an initialization. Training-health findings on it are limited (init rules skip",
		"folded convs, dropout rules have nothing to see), and fine-tuning it with nntrain trains",
		"that different model.",
		"Evidence used: BatchNormalization with one output at opset < 14 or training_mode = 0,",
		"Conv weights named onnx::Conv_* (folded), other weights renamed onnx::* by folding,",
		"Identity nodes copying initializers, and a child of an nn.Sequential that left no node",
		"right before a weighted layer (classifier.0 before classifier.1/Gemm: the Dropout an eval",
		"export removes, as in AlexNet and VGG). Training evidence wins: BatchNormalization on",
		"batch statistics, or a Dropout with training_mode on and a ratio above 0 (a ratio-0",
		"Dropout, which torchvision's Swin leaves in eval exports, computes the identity in",
		"either mode and says nothing).",
		"",
		"nntrain writes the inference graph by default and labels what it wrote (metadata",
		"nnkit.graph = inference or training): its inference graphs are recognized as such even",
		"where nothing in the graph shows it (Dropout removed), and a training graph it wrote with",
		"--keep-training-graph is not flagged unless the model it was trained from was an",
		"inference export.",
		"",
		"Fix: re-export for training:",
		"  torch.onnx.export(model.train(), x, \"model.onnx\",",
		"                    training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)",
	),
	Run: runInferenceExport,
}

func runInferenceExport(p *lint.Pass) {
	ev := p.Facts.ClassifyExport()
	if meta(p.Model, "nnkit.graph") == "inference" {
		reportNntrainInference(p, ev.First)
		return
	}
	if ev.Mode != lint.InferenceExport || ev.First == nil {
		return
	}
	d := lint.At(ev.First)
	d.Message = "this looks like an inference export (eval mode, constant folding): " + strings.Join(ev.Inference, ", ") +
		"; an eval export also drops every Dropout, so training-health findings are limited and fine-tuning this file trains a different model"
	d.Fix = "Re-export for training: torch.onnx.export(model.train(), x, f, training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)."
	p.Report(d)
}

// meta returns a model metadata_props entry. The nnkit.* keys are written
// by nntrain (train/export: MetaGraph, MetaConverted), which lint does not
// import.
func meta(m *ir.Model, key string) string {
	for _, p := range m.Metadata {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

// reportNntrainInference: the file is an inference graph nntrain wrote
// (by default after fine-tuning, or nntrain export). first is the first
// node showing it, nil when the conversion left no trace in the graph.
func reportNntrainInference(p *lint.Pass, first *ir.Node) {
	var ev []string
	for _, kv := range strings.Split(meta(p.Model, "nnkit.converted"), ",") {
		op, n, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch op {
		case "BatchNormalization":
			ev = append(ev, n+" BatchNormalization on running statistics")
		case "Dropout":
			ev = append(ev, n+" Dropout removed")
		}
	}
	if len(ev) == 0 && first == nil {
		return // nothing was converted: the same graph as the training one
	}
	if first == nil {
		if len(p.Facts.Order) == 0 {
			return
		}
		first = p.Facts.Order[0]
	}
	what := ""
	if len(ev) > 0 {
		what = " (" + strings.Join(ev, ", ") + ")"
	}
	d := lint.At(first)
	d.Message = "nntrain wrote this file as an inference graph" + what +
		": right for deployment, but training-health findings are limited and fine-tuning it trains a different model"
	d.Fix = "To fine-tune further, start from the training graph: the original training export, or the file nntrain --keep-training-graph writes (nntrain export turns it into an inference graph)."
	p.Report(d)
}

package main

// nntrain export: a training graph → the inference graph to deploy; and the
// choice of graph nntrain writes after fine-tuning.

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/ir"
	lintfmt "github.com/nnkit/nnkit/lint/format"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train/export"
)

const exportUsage = `Usage: nntrain export [flags] train.onnx [-o infer.onnx]

Converts a training graph (a PyTorch export with training=TrainingMode.TRAINING,
or what nntrain --keep-training-graph wrote) into the inference graph to deploy,
the form nntrain writes by default: the same nodes and weights, BatchNormalization
on its running statistics (training_mode=0, one output), Dropout removed, and
whatever fed only the removed parts dropped. ONNX Runtime computes on it what
nntrain predict computes on either file.
Exit codes: 0 written, 1 writing failed, 2 usage error or a model that cannot be
converted.

Flags:
`

func runExport(args []string, stdout, stderr io.Writer) int {
	err := exportMain(args, stdout, stderr)
	return cli.Reporter{W: stderr, Prefix: "nntrain export", Clean: cleanMsg}.Report(err)
}

func exportMain(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("nntrain export", stderr)
	var out string
	var quiet bool
	fs.StringVar(&out, "o", "", "write the inference graph here (default <model>.inference.onnx)")
	fs.StringVar(&out, "out", "", "same as -o")
	fs.BoolVar(&quiet, "q", false, "do not print the summary line")
	fs.Usage = func() {
		fmt.Fprint(stderr, exportUsage)
		fs.PrintDefaults()
	}
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("want one model, got %d arguments; nntrain export -h for help", len(pos))
	}
	model := pos[0]
	if out == "" {
		out = outName(model, ".inference.onnx")
	}
	m, err := onnxio.ReadFile(model)
	if err != nil {
		return cli.Usage(err)
	}
	inf, rep, err := export.Inference(m)
	if err != nil {
		return cli.Usagef("%s: %w", lintfmt.Clean(model), err)
	}
	if err := onnxio.WriteFile(out, inf, nil); err != nil {
		return fmt.Errorf("writing %s: %w", lintfmt.Clean(out), err) // exit 1: the conversion failed
	}
	if !quiet {
		fmt.Fprintf(stdout, "wrote %s: inference graph, %s\n", out, rep)
	}
	return nil
}

// outName is model's path without .gz/.onnx, plus suffix.
func outName(model, suffix string) string {
	base := model
	for _, ext := range []string{".gz", ".onnx"} {
		if strings.HasSuffix(strings.ToLower(base), ext) {
			base = base[:len(base)-len(ext)]
		}
	}
	return base + suffix
}

// graphChoice is nntrain's --keep-training-graph: which graph of the
// fine-tuned model to write.
type graphChoice struct {
	keepTraining bool
}

func (g *graphChoice) register(fs *flag.FlagSet) {
	fs.BoolVar(&g.keepTraining, "keep-training-graph", false,
		"write the training graph (BatchNorm on batch statistics, Dropout active) to fine-tune further,\n"+
			"instead of the inference graph to deploy (convert it later with nntrain export)")
}

// check refuses, before any training, a model whose inference graph
// cannot be made.
func (g *graphChoice) check(path string, m *ir.Model) error {
	if g.keepTraining {
		return nil
	}
	if _, _, err := export.Inference(m); err != nil {
		return cli.Usagef("%s: cannot make its inference graph (%w); write the training graph with --keep-training-graph", path, err)
	}
	return nil
}

// write writes m, whose initializers hold the trained values, as the graph
// chosen. It returns what the conversion changed (nil for the training
// graph).
func (g *graphChoice) write(path string, m *ir.Model) (*export.Report, error) {
	if g.keepTraining {
		tm := *m
		export.Mark(&tm, export.KindTraining)
		return nil, onnxio.WriteFile(path, &tm, nil)
	}
	inf, rep, err := export.Inference(m)
	if err != nil {
		return nil, err
	}
	return rep, onnxio.WriteFile(path, inf, nil)
}

// describe says which graph was written, for the line after the summary.
func (g *graphChoice) describe(rep *export.Report) string {
	if g.keepTraining {
		return "training graph (to deploy it: nntrain export)"
	}
	if rep == nil || !rep.Changed() {
		return ""
	}
	return "inference graph: " + rep.String() + " (--keep-training-graph writes the training graph)"
}

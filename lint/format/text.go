package format

import (
	"fmt"
	"io"
	"strings"

	"github.com/nnkit/nnkit/lint"
)

// Text is the human format:
//
//	model.onnx: /layers/layers.1/Sigmoid [Sigmoid]: error NN101 saturating-chain: 12 saturating ...
//	  fix: Use nn.ReLU()/nn.GELU() ...
//
// followed by a summary line. With Verbose, each probed file gets a table of
// per-layer activation std and weight-gradient norms.
type Text struct {
	Color   bool
	Verbose bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiGreen  = "\x1b[32m"
)

func (t *Text) paint(code, s string) string {
	if !t.Color {
		return s
	}
	return code + s + ansiReset
}

func (t *Text) sev(s lint.Severity) string {
	switch s {
	case lint.Error:
		return t.paint(ansiBold+ansiRed, "error")
	case lint.Warning:
		return t.paint(ansiBold+ansiYellow, "warning")
	}
	return t.paint(ansiBold+ansiCyan, "info")
}

// Format writes the report.
func (t *Text) Format(w io.Writer, r *Report) error {
	var b strings.Builder
	for _, res := range r.Results {
		file := Clean(res.File)
		if res.Err != nil {
			label := "failed:"
			if res.Internal() {
				label = "internal error:"
			}
			fmt.Fprintf(&b, "%s: %s %s\n", t.paint(ansiBold, file), t.paint(ansiBold+ansiRed, label), CleanLines(res.Err.Error(), "  "))
			continue
		}
		for _, d := range res.Diagnostics {
			loc := t.paint(ansiBold, file) + ":"
			if d.Node != "" {
				loc += " " + Clean(d.Node)
				if d.Op != "" {
					loc += " [" + Clean(d.Op) + "]"
				}
				loc += ":"
			}
			msg := CleanLines(d.Message, "    ")
			fmt.Fprintf(&b, "%s %s %s %s: %s\n", loc, t.sev(d.Severity), t.paint(ansiBold, d.Rule), d.Name, msg)
			if d.Fix != "" {
				fmt.Fprintf(&b, "  %s %s\n", t.paint(ansiGreen, "fix:"), CleanLines(d.Fix, "    "))
			}
		}
		switch {
		case t.Verbose && res.Probe != nil:
			t.probeTable(&b, res.File, res.Probe)
		case res.Probe != nil:
			// Choices the probe made for the user's model (sizes of symbolic
			// dims, integer inputs) are always worth knowing.
			for _, n := range res.Probe.Notes {
				fmt.Fprintf(&b, "%s: probe: %s\n", file, Clean(n))
			}
		}
	}
	c := r.Count()
	switch {
	case c.Diagnostics == 0 && c.FailedFiles == 0:
		fmt.Fprintf(&b, "%s (%s)\n", t.paint(ansiBold+ansiGreen, "All checks passed"), plural(c.Files, "file"))
	default:
		parts := []string{plural(c.Errors, "error"), plural(c.Warnings, "warning"), fmt.Sprintf("%d info", c.Infos)}
		fmt.Fprintf(&b, "Found %s (%s) in %s", plural(c.Diagnostics, "problem"), strings.Join(parts, ", "), plural(c.Files, "file"))
		if c.FailedFiles > 0 {
			fmt.Fprintf(&b, "; %s could not be linted", plural(c.FailedFiles, "file"))
		}
		b.WriteString(".\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, s string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", s)
	}
	return fmt.Sprintf("%d %ss", n, s)
}

func (t *Text) probeTable(b *strings.Builder, file string, p *lint.ProbeReport) {
	fmt.Fprintf(b, "%s: probe: batch %d, seed %d, %s = %.4g\n", Clean(file), p.Batch, p.Seed, p.LossKind, p.Loss)
	for _, in := range p.Inputs {
		fmt.Fprintf(b, "  input %s %s %v: %s\n", Clean(in.Name), in.DType, in.Shape, Clean(in.Fill))
	}
	for _, n := range p.Notes {
		fmt.Fprintf(b, "  note: %s\n", Clean(n))
	}
	width := len("layer")
	for _, l := range p.Layers {
		width = max(width, len(Clean(l.Node)))
	}
	fmt.Fprintf(b, "  %-*s  %-13s  %10s  %10s  %10s  %10s  %10s\n", width, "layer", "op", "input std", "output std", "‖W‖", "‖∇W‖", "‖∇W‖/‖W‖")
	for _, l := range p.Layers {
		mark := ""
		if l.Substituted {
			mark = "  (zero head: measured with LeCun-normal weights)"
		}
		fmt.Fprintf(b, "  %-*s  %-13s  %10.3g  %10.3g  %10.3g  %10.3g  %10.3g%s\n", width, Clean(l.Node), Clean(l.Op), l.InStd, l.OutStd, l.WeightNorm, l.GradNorm, l.RelGrad(), mark)
	}
	for _, r := range p.ReLUs {
		fmt.Fprintf(b, "  %s: %d/%d units never active (%.0f %%)\n", Clean(r.Node), r.Dead, r.Units, 100*r.DeadFraction())
	}
	for _, s := range p.Shifts {
		fmt.Fprintf(b, "  %s: variance shift with Dropout on/off (%s) mean %.3g, max %.3g over %d channels\n", Clean(s.Node), Clean(strings.Join(s.Dropouts, ", ")), s.Mean, s.Max, s.Channels)
	}
}

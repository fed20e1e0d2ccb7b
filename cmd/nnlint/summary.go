package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/ir"
	lintfmt "github.com/nnkit/nnkit/lint/format"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/summary"
)

// runSummary implements `nnlint summary [--format text|json] model.onnx...`.
func runSummary(args []string, stdout, stderr io.Writer) int {
	return cli.Reporter{W: stderr, Prefix: "nnlint summary"}.Report(summaryMain(args, stdout, stderr))
}

// summaryMain prints the summaries and returns a cli.Code for the outcome
// (problems with single files are printed as they come), or the error
// that stopped it.
func summaryMain(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("nnlint summary", stderr)
	format := fs.String("format", "text", "output format: text or json")
	showAll := fs.Bool("all", false, "text: also list Constant nodes (JSON always lists every node)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: nnlint summary [--format text|json] model.onnx...\n\n"+
			"Prints one row per node (name, op, output shape, params, MACs per sample) and totals:\n"+
			"params, trainable params, buffers (BatchNorm running stats), MACs per sample, size.\n"+
			"Shared weights are counted once.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	files, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return cli.Usagef("--format must be text or json, not %q", *format)
	}
	if len(files) == 0 {
		fs.Usage()
		return &cli.UsageError{Err: errors.New("no model given"), Shown: true}
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	code := cli.ExitOK
	var all []*summary.Summary
	for i, path := range files {
		s, c := summarizeFile(path, stderr)
		code = max(code, c)
		if s == nil {
			continue
		}
		if *format == "json" {
			all = append(all, s)
			continue
		}
		if i > 0 {
			fmt.Fprintln(out)
		}
		// Layer names come from the file: control characters are written
		// visibly and no line may start a CI workflow command. The table
		// is cleaned a line at a time on its way out (a 200,000-node
		// graph's table is 20 MB, not to be held twice more).
		cw := &cleanWriter{w: out}
		s.WriteText(cw, *showAll)
		cw.flush()
	}
	if *format == "json" {
		// One object for one model (the documented schema), an array for
		// several.
		switch len(all) {
		case 0:
		case 1:
			all[0].WriteJSON(out)
		default:
			fmt.Fprintln(out, "[")
			for i, s := range all {
				s.WriteJSON(out)
				if i < len(all)-1 {
					fmt.Fprintln(out, ",")
				}
			}
			fmt.Fprintln(out, "]")
		}
	}
	if code != cli.ExitOK {
		return cli.Code(code)
	}
	return nil
}

// summarizeFile reads one model and builds its summary; problems are
// printed to stderr and come back as the exit code they call for (s nil).
// A very large graph is read and summarized with the collector tightened
// as for linting (gc.go).
func summarizeFile(path string, stderr io.Writer) (*summary.Summary, int) {
	var gc gcTuner
	defer gc.restore()
	m, err := onnxio.ReadFileWith(path, onnxio.ReadOptions{OnGraph: gc.graph})
	if err != nil {
		fmt.Fprintln(stderr, lintfmt.CleanLines(err.Error(), "  "))
		return nil, cli.ExitUsage
	}
	s, err := buildSummary(m, path)
	var ie *lintfmt.InternalError
	if errors.As(err, &ie) {
		fmt.Fprintf(stderr, "%s: %s\n%s", lintfmt.Clean(path), ie, ie.Stack)
		return nil, cli.ExitInternal
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", lintfmt.Clean(path), lintfmt.CleanLines(err.Error(), "  "))
		return nil, cli.ExitUsage
	}
	return s, cli.ExitOK
}

// cleanWriter passes text on a line at a time through
// lintfmt.CleanLines, which gives each line what it gives a whole text.
type cleanWriter struct {
	w    io.Writer
	line []byte
}

func (c *cleanWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.line = append(c.line, p...)
			break
		}
		c.line = append(c.line, p[:i]...)
		c.flush()
		io.WriteString(c.w, "\n")
		p = p[i+1:]
	}
	return n, nil
}

// flush writes the pending part of a line.
func (c *cleanWriter) flush() {
	if len(c.line) > 0 {
		io.WriteString(c.w, lintfmt.CleanLines(string(c.line), ""))
		c.line = c.line[:0]
	}
}

// buildSummary is summary.Build with a crash (a bug in nnkit reached by
// this model) turned into an *InternalError for this file alone, as for
// linting.
func buildSummary(m *ir.Model, path string) (s *summary.Summary, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, &lintfmt.InternalError{Panic: r, Stack: debug.Stack()}
		}
	}()
	if testHookLintFile != nil {
		testHookLintFile(path)
	}
	return summary.Build(m, path)
}

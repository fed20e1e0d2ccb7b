package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/lint"
	"github.com/nnkit/nnkit/lint/format"
	"github.com/nnkit/nnkit/lint/rules"
	"github.com/nnkit/nnkit/onnxio"
)

// listFlag collects a repeatable, comma-separated flag (--select NN1,NN2
// --select NN5).
type listFlag struct {
	vals []string
	set  bool
}

func (l *listFlag) String() string { return strings.Join(l.vals, ",") }
func (l *listFlag) Set(s string) error {
	l.vals = append(l.vals, lint.SplitList(s)...)
	l.set = true
	return nil
}

// lintFlags are the command line of `nnlint [flags] model.onnx...`.
type lintFlags struct {
	format, failOn, config, output, color string
	sel, ignore                           listFlag
	probe, verbose, version               bool
	probeBatch                            int
	probeSeed                             uint64
	set                                   map[string]bool // flags given explicitly
}

func newLintFlagSet(stderr io.Writer) (*flag.FlagSet, *lintFlags) {
	lf := &lintFlags{}
	fs := cli.NewFlagSet("nnlint", stderr)
	fs.StringVar(&lf.format, "format", "text", "output format: text, json, sarif or github")
	fs.StringVar(&lf.failOn, "fail-on", "warning", "exit 1 when a finding is at or above: error, warning, info or none")
	fs.Var(&lf.sel, "select", "rule IDs, ID prefixes or names to run, comma-separated (default: all)")
	fs.Var(&lf.ignore, "ignore", "rule IDs, ID prefixes or names to skip, comma-separated")
	fs.StringVar(&lf.config, "config", "", "configuration file (default: .nnlint.yaml/.yml/.json next to the model, else in the working directory)")
	fs.BoolVar(&lf.probe, "probe", true, "run the data-free probe (forward and backward on synthetic inputs); --probe=false for static rules only")
	fs.IntVar(&lf.probeBatch, "probe-batch", 0, "batch size of the probe's synthetic inputs (0: chosen from the model's size, 2 to 32)")
	fs.Uint64Var(&lf.probeSeed, "probe-seed", 0, "seed of the probe's synthetic inputs and labels")
	fs.StringVar(&lf.output, "output", "", "write the report to this file instead of standard output")
	fs.StringVar(&lf.output, "o", "", "shorthand for --output")
	fs.StringVar(&lf.color, "color", "auto", "colour in the text format: auto (only on a terminal), always or never")
	fs.BoolVar(&lf.verbose, "v", false, "text format: also print the probe's per-layer measurements")
	fs.BoolVar(&lf.verbose, "verbose", false, "same as -v")
	fs.BoolVar(&lf.version, "version", false, "print nnlint's version and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: nnlint [flags] model.onnx...

Finds training-health problems in ONNX models exported from PyTorch: static
rules on the graph and its initializers, plus a probe that runs the model
forward and backward on synthetic inputs. Flags may come before or after the
files. Exit codes: 0 nothing at or above --fail-on, 1 findings, 2 usage,
model-loading or output error, 3 internal error (a crash while linting a
file: reported for that file, the other files are still linted).

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, `
Also: nnlint rules (list rules), nnlint explain ID, nnlint summary model.onnx.
`)
	}
	return fs, lf
}

// fileSettings are the effective settings for one model: command line over
// configuration file over defaults.
type fileSettings struct {
	cfg        *lint.Config
	rules      []*lint.Rule
	failOn     lint.Severity
	probe      bool
	probeBatch int
	maxBytes   int64 // memory budget of the probe (NNKIT_MAX_MEMORY; 0: default)
}

func (lf *lintFlags) settings(cfg *lint.Config) (*fileSettings, error) {
	s := &fileSettings{cfg: cfg, probe: lf.probe, probeBatch: lf.probeBatch}
	sel, ignore := lf.sel.vals, lf.ignore.vals
	failOn := lf.failOn
	if cfg != nil {
		if !lf.sel.set {
			sel = cfg.Select
		}
		ignore = append(append([]string(nil), cfg.Ignore...), ignore...)
		if !lf.set["fail-on"] && cfg.FailOn != "" {
			failOn = cfg.FailOn
		}
		if !lf.set["probe"] && cfg.Probe != nil {
			s.probe = *cfg.Probe
		}
		if !lf.set["probe-batch"] && cfg.ProbeBatch > 0 {
			s.probeBatch = cfg.ProbeBatch
		}
	}
	var err error
	if s.failOn, err = lint.ParseFailOn(failOn); err != nil {
		return nil, err
	}
	if s.rules, err = lint.Select(rules.All, sel, ignore); err != nil {
		return nil, err
	}
	return s, nil
}

func runLint(args []string, stdout, stderr io.Writer) int {
	return cli.Reporter{W: stderr, Prefix: "nnlint"}.Report(lintMain(args, stdout, stderr))
}

// lintMain lints the files and returns a cli.Code for the outcome (the
// per-file problems are printed as they come), or the error that stopped
// it.
func lintMain(args []string, stdout, stderr io.Writer) error {
	fs, lf := newLintFlagSet(stderr)
	files, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if lf.version {
		fmt.Fprintf(stdout, "nnlint %s\n", lint.Version)
		return nil
	}
	lf.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { lf.set[f.Name] = true })
	if len(files) == 0 {
		fs.Usage()
		return &cli.UsageError{Err: errors.New("no model given"), Shown: true}
	}
	if lf.probeBatch < 0 || lf.probeBatch > 4096 {
		return cli.Usagef("--probe-batch must be between 1 and 4096 (or 0 for automatic), got %d", lf.probeBatch)
	}
	color := false
	switch lf.color {
	case "auto":
		color = lf.output == "" && cli.ColorEnabled(stdout)
	case "always":
		color = true
	case "never":
	default:
		return cli.Usagef("unknown --color %q (want auto, always or never)", lf.color)
	}
	fmtr, err := format.New(lf.format, format.Options{Color: color, Verbose: lf.verbose})
	if err != nil {
		return cli.Usage(err)
	}
	topFailOn, err := lint.ParseFailOn(lf.failOn)
	if err != nil {
		return cli.Usage(err)
	}
	maxBytes, err := cli.MaxMemory()
	if err != nil {
		return cli.Usage(err)
	}

	configs := map[string]*lint.Config{}
	report := &format.Report{Rules: rules.All, FailOn: topFailOn}
	failed, broken, internal := false, false, false
	for i, file := range files {
		path := lint.FindConfig(lf.config, file)
		cfg, ok := configs[path]
		if !ok && path != "" {
			if cfg, err = lint.LoadConfig(path, rules.All); err != nil {
				return cli.Usagef("config: %w", err)
			}
			configs[path] = cfg
		}
		s, err := lf.settings(cfg)
		if err != nil {
			return cli.Usage(err)
		}
		s.maxBytes = maxBytes
		if i == 0 && !lf.set["fail-on"] {
			report.FailOn = s.failOn
		}
		var gc gcTuner
		res := lintFile(file, s, lf.probeSeed, &gc)
		gc.restore()
		if res.Err != nil {
			var ie *format.InternalError
			if errors.As(res.Err, &ie) {
				internal = true
				fmt.Fprintf(stderr, "nnlint: %s: %s\n%s", format.Clean(file), ie, ie.Stack)
			} else {
				broken = true
				fmt.Fprintf(stderr, "nnlint: %s\n", format.CleanLines(res.Err.Error(), "  "))
			}
		}
		failed = failed || lint.AtLeast(res.Diagnostics, s.failOn)
		report.Results = append(report.Results, res)
	}

	if lf.output != "" {
		var buf bytes.Buffer
		if err := fmtr.Format(&buf, report); err != nil {
			return cli.Usagef("writing the %s report: %w", lf.format, err)
		}
		if err := onnxio.WriteFileAtomic(lf.output, buf.Bytes()); err != nil {
			return cli.Usagef("writing the report: %s", format.Clean(err.Error()))
		}
	} else if err := writeReport(stdout, fmtr, report); err != nil {
		var we *stdoutError
		if errors.As(err, &we) {
			return cli.Usagef("writing the report to standard output: %w", we.err)
		}
		return cli.Usagef("writing the %s report: %w", lf.format, err)
	}
	if lf.format == "github" {
		if err := writeStepSummary(report); err != nil {
			fmt.Fprintf(stderr, "nnlint: writing the job summary ($GITHUB_STEP_SUMMARY): %s\n", format.Clean(err.Error()))
			broken = true
		}
	}
	switch {
	case internal:
		return cli.Code(cli.ExitInternal)
	case broken:
		return cli.Code(cli.ExitUsage)
	case failed:
		return cli.Code(cli.ExitFindings)
	}
	return nil
}

// writeReport formats the report straight to standard output (a report of
// 100,000 findings is tens of MB, which a buffer held once more; issue 9).
// A failed write comes back as a *stdoutError.
func writeReport(stdout io.Writer, fmtr format.Formatter, report *format.Report) error {
	ew := &errWriter{w: stdout}
	bw := bufio.NewWriterSize(ew, 64<<10)
	err := fmtr.Format(bw, report)
	if err == nil {
		err = bw.Flush()
	}
	if ew.err != nil {
		return &stdoutError{ew.err}
	}
	return err
}

// errWriter keeps the first error of its writer.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

type stdoutError struct{ err error }

func (e *stdoutError) Error() string { return e.err.Error() }

// testHookLintFile, when set by a test, runs at the start of every
// lintFile (to simulate a crash on one file).
var testHookLintFile func(file string)

// lintFile reads one model, probes it when asked, and runs the rules. A
// panic anywhere in that (a bug in nnkit, reached by this model) is
// recovered into an *format.InternalError for this file alone.
//
// gc is tightened when the model is a very large graph; the caller
// restores it once the model is garbage.
func lintFile(file string, s *fileSettings, seed uint64, gc *gcTuner) (res format.Result) {
	defer func() {
		if r := recover(); r != nil {
			res = format.Result{File: file, Err: &format.InternalError{Panic: r, Stack: debug.Stack()}}
		}
	}()
	if testHookLintFile != nil {
		testHookLintFile(file)
	}
	res = format.Result{File: file}
	m, err := onnxio.ReadFileWith(file, onnxio.ReadOptions{OnGraph: gc.graph})
	if err != nil {
		res.Err = err
		return res
	}
	facts, err := lint.NewFacts(m, file)
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", file, err)
		return res
	}
	opts := lint.Options{File: file, Rules: s.rules, Config: s.cfg, Facts: facts}
	if s.probe && needsProbe(s.rules) {
		opts.Probe, opts.ProbeErr = runProbe(m, facts, s.probeBatch, seed, s.maxBytes)
	}
	res.Probe = opts.Probe
	res.Diagnostics, res.Err = lint.Check(m, opts)
	return res
}

func needsProbe(rs []*lint.Rule) bool {
	for _, r := range rs {
		if r.NeedsProbe {
			return true
		}
	}
	return false
}

// writeStepSummary appends a Markdown table of the findings to the GitHub
// Actions job summary when running there ($GITHUB_STEP_SUMMARY).
func writeStepSummary(r *format.Report) error {
	path := os.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	var b strings.Builder
	c := r.Count()
	fmt.Fprintf(&b, "### nnlint: %d errors, %d warnings, %d info in %d files\n\n", c.Errors, c.Warnings, c.Infos, c.Files)
	if c.Diagnostics > 0 {
		b.WriteString("| file | node | rule | severity | message |\n|---|---|---|---|---|\n")
		cell := func(s string) string {
			return strings.NewReplacer("|", "\\|", "\n", " ").Replace(format.CleanLines(s, ""))
		}
		for _, res := range r.Results {
			for _, d := range res.Diagnostics {
				fmt.Fprintf(&b, "| %s | %s | %s %s | %s | %s |\n", cell(res.File), cell(d.Node), d.Rule, d.Name, d.Severity, cell(d.Message))
			}
		}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runRules prints the rule table: `nnlint rules [--format text|json]`.
func runRules(args []string, stdout, stderr io.Writer) int {
	return cli.Reporter{W: stderr, Prefix: "nnlint rules"}.Report(rulesMain(args, stdout, stderr))
}

func rulesMain(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("nnlint rules", stderr)
	fmtName := fs.String("format", "text", "text or json")
	rest, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return cli.Usagef("unexpected argument %q", rest[0])
	}
	switch *fmtName {
	case "json":
		type jr struct {
			ID       string        `json:"id"`
			Name     string        `json:"name"`
			Severity lint.Severity `json:"severity"`
			Probe    bool          `json:"probe"`
			Title    string        `json:"title"`
		}
		var out []jr
		for _, r := range rules.All {
			out = append(out, jr{r.ID, r.Name, r.Severity, r.NeedsProbe, r.Title()})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			return cli.Code(cli.ExitUsage) // run reports the output error
		}
	case "text":
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSEVERITY\tTITLE")
		for _, r := range rules.All {
			title := r.Title()
			if r.NeedsProbe {
				title += " [probe]"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Severity, title)
		}
		tw.Flush()
	default:
		return cli.Usagef("unknown --format %q (want text or json)", *fmtName)
	}
	return nil
}

// runExplain prints one rule's documentation: `nnlint explain NN101`.
func runExplain(args []string, stdout, stderr io.Writer) int {
	return cli.Reporter{W: stderr, Prefix: "nnlint explain"}.Report(explainMain(args, stdout, stderr))
}

func explainMain(args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: nnlint explain ID   (nnlint rules lists the IDs)")
		return &cli.UsageError{Err: errors.New("nnlint explain takes one rule ID"), Shown: true}
	}
	r := rules.ByID(strings.TrimSpace(args[0]))
	if r == nil {
		return cli.Usagef("no rule %q (nnlint rules lists them)", args[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (default severity: %s)\n\n%s\n\n%s\n", r.ID, r.Name, r.Severity, r.Title(), r.Body())
	if len(r.Params) > 0 {
		b.WriteString("\nSettings (.nnlint.yaml: rules: {" + r.ID + ": {name: value}}):\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, p := range r.Params {
			fmt.Fprintf(tw, "  %s\t%g\t%s\n", p.Name, p.Default, p.Doc)
		}
		tw.Flush()
	}
	if r.NeedsProbe {
		b.WriteString("\nNeeds the probe (on by default; --probe=false turns it off).\n")
	}
	io.WriteString(stdout, b.String())
	return nil
}

package format

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/nnkit/nnkit/lint"
)

// Result is the outcome for one model file.
type Result struct {
	File        string
	Diagnostics []lint.Diagnostic
	// Probe is the probe's report (nil when it did not run).
	Probe *lint.ProbeReport
	// Err is set when the file could not be linted (unreadable model, bad
	// configuration); Diagnostics is empty then.
	Err error
}

// InternalError is a failure of nnlint itself while linting one file (a
// recovered panic): not the input's fault, reported as a bug.
type InternalError struct {
	Panic any    // the panic value
	Stack []byte // the goroutine's stack at the panic
}

func (e *InternalError) Error() string {
	return fmt.Sprintf("internal error (a bug in nnlint, please report it with the model if you can): panic: %v", e.Panic)
}

// Internal reports whether the file failed because of an internal error.
func (r *Result) Internal() bool {
	var ie *InternalError
	return errors.As(r.Err, &ie)
}

// Report is everything a formatter needs.
type Report struct {
	Results []Result
	// Rules is the rule registry (SARIF describes every rule it may report).
	Rules []*lint.Rule
	// FailOn is the threshold of the run (0: none), for summaries.
	FailOn lint.Severity
}

// Formatter writes a Report in one output format.
type Formatter interface {
	Format(w io.Writer, r *Report) error
}

// Options adjust formatters.
type Options struct {
	// Color enables ANSI colours in the text format.
	Color bool
	// Verbose adds the probe's per-layer table to the text format.
	Verbose bool
}

// Names lists the formats New accepts.
var Names = []string{"text", "json", "sarif", "github"}

// New returns the formatter called name.
func New(name string, o Options) (Formatter, error) {
	switch name {
	case "text":
		return &Text{Color: o.Color, Verbose: o.Verbose}, nil
	case "json":
		return JSON{}, nil
	case "sarif":
		return SARIF{}, nil
	case "github":
		return GitHub{}, nil
	}
	return nil, fmt.Errorf("unknown --format %q (want %s)", name, strings.Join(Names, ", "))
}

// Totals counts diagnostics by severity and files with errors.
type Totals struct {
	Files, FailedFiles   int
	InternalErrors       int
	Errors, Warnings     int
	Infos, Diagnostics   int
	FilesWithDiagnostics int
}

// Count totals a report.
func (r *Report) Count() Totals {
	var t Totals
	for _, res := range r.Results {
		t.Files++
		if res.Err != nil {
			t.FailedFiles++
			if res.Internal() {
				t.InternalErrors++
			}
		}
		if len(res.Diagnostics) > 0 {
			t.FilesWithDiagnostics++
		}
		for _, d := range res.Diagnostics {
			t.Diagnostics++
			switch d.Severity {
			case lint.Error:
				t.Errors++
			case lint.Warning:
				t.Warnings++
			default:
				t.Infos++
			}
		}
	}
	return t
}

// slashPath is a file name as SARIF and GitHub want it: forward slashes,
// relative to the working directory when it is below it.
func slashPath(p string) string {
	if filepath.IsAbs(p) {
		if wd, err := filepath.Abs("."); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
				p = rel
			}
		}
	}
	return filepath.ToSlash(filepath.Clean(p))
}

package lint

import (
	"fmt"
	"strings"

	"github.com/nnkit/nnkit/ir"
)

// Severity orders diagnostics. The zero value means "unset" (a rule's
// default applies).
type Severity int

// Severities, from least to most severe.
const (
	Info Severity = iota + 1
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// ParseSeverity reads "info", "warning" or "error" (also "note", "warn").
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "info", "note", "notice":
		return Info, nil
	case "warning", "warn":
		return Warning, nil
	case "error":
		return Error, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want error, warning or info)", s)
}

// MarshalText writes the severity's name (JSON and YAML use it).
func (s Severity) MarshalText() ([]byte, error) {
	if s < Info || s > Error {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Param is a tunable threshold of a rule. Users set it per rule in the
// configuration file; the rule reads it with Pass.Param.
type Param struct {
	Name    string  // kebab-case key in the config file, e.g. "max-rate"
	Default float64 // value when the config does not set it
	Doc     string  // one line: what it means, with its source
}

// Rule is one training-health check.
type Rule struct {
	// ID is stable and never reused ("NN101").
	ID string
	// Name is a short kebab-case name ("saturating-chain"); configuration
	// and --select accept it too.
	Name string
	// Severity is the default severity of the rule's diagnostics. A rule may
	// report some diagnostics at another severity when the evidence is
	// stronger or weaker (documented in its Doc).
	Severity Severity
	// Doc: the first line is a title; the rest explains why it matters and
	// how to fix it, quoting the PyTorch remedy.
	Doc string
	// Params are the rule's tunable thresholds.
	Params []Param
	// NeedsProbe marks rules that read Pass.Probe (measured numbers); they
	// run only when the probe ran.
	NeedsProbe bool
	// Run inspects the model and reports through the Pass.
	Run func(*Pass)
}

// Title is the first line of the Doc.
func (r *Rule) Title() string {
	t, _, _ := strings.Cut(r.Doc, "\n")
	return strings.TrimSpace(t)
}

// Body is the Doc without its title line.
func (r *Rule) Body() string {
	_, b, _ := strings.Cut(r.Doc, "\n")
	return strings.TrimSpace(b)
}

// Param returns the declared parameter called name, or nil.
func (r *Rule) Param(name string) *Param {
	for i := range r.Params {
		if r.Params[i].Name == name {
			return &r.Params[i]
		}
	}
	return nil
}

// Diagnostic is one finding. Its JSON form is part of nnlint's documented
// output schema (lint/format/README: rule, name, severity, file, node, op,
// message, fix are always present).
type Diagnostic struct {
	Rule     string   `json:"rule"`
	Name     string   `json:"name"`
	Severity Severity `json:"severity"`
	File     string   `json:"file"`
	// Node is the ONNX node name the finding is about (an initializer's name
	// for findings about an initializer; "" for whole-model findings).
	Node string `json:"node"`
	// Op is the node's op type ("initializer" for initializers, "" for
	// whole-model findings).
	Op string `json:"op"`
	// Message says what is wrong, quoting the measured or computed numbers.
	Message string `json:"message"`
	// Fix says what to change, in PyTorch terms.
	Fix string `json:"fix"`
	// Related lists other nodes involved (e.g. the rest of a chain).
	Related []string `json:"related,omitempty"`

	pos int // sort key: position of Node in the graph
}

// Pass is what a rule sees while it runs on one model.
type Pass struct {
	Rule  *Rule
	Model *ir.Model
	Graph *ir.Graph
	// Facts is the shared analysis of the graph (layers, activations,
	// normalization, tensor statistics), computed once per model.
	Facts *Facts
	// Probe holds the measurements of the data-free probe, or nil when the
	// probe did not run (--probe=false, or it could not run).
	Probe *ProbeReport
	// ProbeErr says why the probe did not run when it was asked to (nil
	// when it ran or was turned off).
	ProbeErr error

	params map[string]float64
	out    *[]Diagnostic
}

// Param returns the value of the rule's parameter: the configured one or its
// default. Asking for an undeclared parameter is a bug in the rule.
func (p *Pass) Param(name string) float64 {
	if v, ok := p.params[name]; ok {
		return v
	}
	d := p.Rule.Param(name)
	if d == nil {
		panic(fmt.Sprintf("lint: rule %s reads undeclared parameter %q", p.Rule.ID, name))
	}
	return d.Default
}

// Report records a diagnostic. Rule, Name and File are filled in; a zero
// Severity becomes the rule's default.
func (p *Pass) Report(d Diagnostic) {
	d.Rule, d.Name = p.Rule.ID, p.Rule.Name
	if d.Severity == 0 {
		d.Severity = p.Rule.Severity
	}
	d.File = p.Facts.File
	d.pos = p.Facts.position(d.Node)
	*p.out = append(*p.out, d)
}

// At starts a diagnostic about node n.
func At(n *ir.Node) Diagnostic {
	return Diagnostic{Node: n.Label(), Op: n.OpType}
}

// AtValue starts a diagnostic about an initializer or other value: the
// node is the value's name and the op says what kind of value it is.
func AtValue(v *ir.Value) Diagnostic {
	op := "value"
	switch {
	case v.Init != nil:
		op = "initializer"
	case v.IsInput:
		op = "input"
	case v.Producer != nil:
		return Diagnostic{Node: v.Producer.Label(), Op: v.Producer.OpType}
	}
	return Diagnostic{Node: v.Name, Op: op}
}

// Version is nnlint's version, reported by the JSON and SARIF formatters.
const Version = "0.1.0"

// InfoURI is where nnlint's documentation lives.
const InfoURI = "https://github.com/nnkit/nnkit"

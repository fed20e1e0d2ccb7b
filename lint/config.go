package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ConfigNames are the file names nnlint looks for, in this order, next to
// each model and then in the working directory.
var ConfigNames = []string{".nnlint.yaml", ".nnlint.yml", ".nnlint.json"}

// Config is an nnlint configuration file (.nnlint.yaml or .nnlint.json).
//
//	fail-on: warning            # error | warning | info | none
//	select: [NN1, NN2]          # rule IDs, ID prefixes or names; default all
//	ignore: [NN502]
//	probe: true
//	probe-batch: 32
//	rules:
//	  NN301: {max-rate: 0.6}    # per-rule thresholds (nnlint explain ID lists them)
//	  dropout-before-output: {severity: info}
//	suppress:
//	  - rules: [NN304]          # omit for every rule
//	    nodes: ["/features/*"]  # node-name globs: * any run of characters, ? one
//	    reason: conv bias kept for checkpoint compatibility
type Config struct {
	// Path is the file the configuration came from ("" for none).
	Path       string
	FailOn     string // "" when not set
	Select     []string
	Ignore     []string
	Probe      *bool
	ProbeBatch int // 0 when not set
	// Rules maps a rule ID to its settings (names are resolved to IDs by
	// Validate).
	Rules    map[string]RuleConfig
	Suppress []Suppression
}

// RuleConfig overrides one rule's severity and thresholds.
type RuleConfig struct {
	Severity Severity // 0: the rule's own
	Params   map[string]float64
}

// Suppression silences diagnostics of some rules (all when Rules is empty)
// on nodes whose names match one of the globs.
type Suppression struct {
	Rules  []string
	Nodes  []string
	Reason string

	res []*regexp.Regexp
}

// FindConfig returns the configuration file for a model: explicit when
// given, else the first of ConfigNames next to the model, else in the
// working directory; "" when there is none.
func FindConfig(explicit, model string) string {
	if explicit != "" {
		return explicit
	}
	for _, dir := range []string{filepath.Dir(model), "."} {
		for _, n := range ConfigNames {
			p := filepath.Join(dir, n)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p
			}
		}
	}
	return ""
}

// MaxConfigBytes bounds a configuration file's size (1 MiB: thousands of
// suppressions).
const MaxConfigBytes = 1 << 20

// LoadConfig reads and validates a configuration file against the rules.
// A FIFO, device or directory, or a file over MaxConfigBytes, is refused.
func LoadConfig(path string, rules []*Rule) (*Config, error) {
	// Stat first: opening a FIFO would block, and a configuration is a
	// small text file.
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, st.Mode().Type())
	}
	if st.Size() > MaxConfigBytes {
		return nil, fmt.Errorf("%s: %d bytes; a configuration file may have at most %d", path, st.Size(), MaxConfigBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxConfigBytes {
		return nil, fmt.Errorf("%s: more than %d bytes; a configuration file may have at most %d", path, MaxConfigBytes, MaxConfigBytes)
	}
	c, err := ParseConfig(b, path, rules)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ParseConfig parses a configuration (YAML, or JSON when name ends in
// .json) and validates it against rules. Errors name the file and the key.
func ParseConfig(b []byte, name string, rules []*Rule) (*Config, error) {
	raw, err := decodeConfig(b, name)
	if err != nil {
		return nil, err
	}
	p := &configParser{name: name, rules: rules, c: &Config{Path: name, Rules: map[string]RuleConfig{}}}
	if raw == nil {
		return p.c, nil // empty file
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want a mapping at the top level, got %s", name, kind(raw))
	}
	for _, k := range sortedKeys(top) {
		p.top(k, top[k])
	}
	for _, pat := range append(append([]string(nil), p.c.Select...), p.c.Ignore...) {
		if len(MatchRules(rules, pat)) == 0 {
			p.bad("select/ignore", "%q matches no rule", pat)
		}
	}
	if len(p.errs) > 0 {
		return nil, errors.New(strings.Join(p.errs, "\n"))
	}
	return p.c, nil
}

// decodeConfig decodes YAML, or JSON when name ends in .json (numbers kept
// as json.Number).
func decodeConfig(b []byte, name string) (any, error) {
	var raw any
	if strings.HasSuffix(name, ".json") {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	} else if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return raw, nil
}

// configParser fills in a Config from the decoded file, collecting every
// problem as "file: key: what is wrong".
type configParser struct {
	name  string
	rules []*Rule
	c     *Config
	errs  []string
}

func (p *configParser) bad(key, format string, a ...any) {
	p.errs = append(p.errs, fmt.Sprintf("%s: %s: %s", p.name, key, fmt.Sprintf(format, a...)))
}

// top reads one top-level key.
func (p *configParser) top(k string, v any) {
	c := p.c
	switch k {
	case "fail-on":
		s, ok := v.(string)
		if _, err := ParseFailOn(s); !ok || err != nil {
			p.bad(k, "want error, warning, info or none, got %v", v)
		}
		c.FailOn = s
	case "select", "ignore":
		l, ok := stringList(v)
		if !ok {
			p.bad(k, "want a list of rule IDs, ID prefixes or names, got %s", kind(v))
		}
		if k == "select" {
			c.Select = l
		} else {
			c.Ignore = l
		}
	case "probe":
		bv, ok := v.(bool)
		if !ok {
			p.bad(k, "want true or false, got %v", v)
		}
		c.Probe = &bv
	case "probe-batch":
		n, ok := number(v)
		if !ok || n < 1 || n != float64(int(n)) || n > 4096 {
			p.bad(k, "want a whole number between 1 and 4096, got %v", v)
		}
		c.ProbeBatch = int(n)
	case "rules":
		m, ok := v.(map[string]any)
		if !ok {
			p.bad(k, "want a mapping from rule ID or name to settings, got %s", kind(v))
			return
		}
		p.ruleSettings(m)
	case "suppress":
		l, ok := v.([]any)
		if !ok {
			p.bad(k, "want a list of {rules, nodes, reason}, got %s", kind(v))
			return
		}
		for i, e := range l {
			p.suppression(fmt.Sprintf("suppress[%d]", i), e)
		}
	default:
		p.bad(k, "unknown key (want fail-on, select, ignore, probe, probe-batch, rules, suppress)")
	}
}

// ruleSettings reads rules: {ID or name: {severity, thresholds}}.
func (p *configParser) ruleSettings(m map[string]any) {
	for _, id := range sortedKeys(m) {
		r := findRule(p.rules, id)
		key := "rules." + id
		if r == nil {
			p.bad(key, "no such rule (nnlint rules lists them)")
			continue
		}
		rc := p.c.Rules[r.ID]
		if rc.Params == nil {
			rc.Params = map[string]float64{}
		}
		settings, ok := m[id].(map[string]any)
		if !ok && m[id] != nil {
			p.bad(key, "want a mapping of severity and thresholds, got %s", kind(m[id]))
			continue
		}
		for _, pk := range sortedKeys(settings) {
			pv := settings[pk]
			if pk == "severity" {
				s, _ := pv.(string)
				sev, err := ParseSeverity(s)
				if err != nil {
					p.bad(key+".severity", "%v", err)
				}
				rc.Severity = sev
				continue
			}
			if r.Param(pk) == nil {
				p.bad(key+"."+pk, "%s (%s) has no such setting; it has %s", r.ID, r.Name, paramNames(r))
				continue
			}
			n, ok := number(pv)
			if !ok {
				p.bad(key+"."+pk, "want a number, got %v", pv)
				continue
			}
			rc.Params[pk] = n
		}
		p.c.Rules[r.ID] = rc
	}
}

// suppression reads one entry of suppress: {rules, nodes, reason}.
func (p *configParser) suppression(key string, e any) {
	m, ok := e.(map[string]any)
	if !ok {
		p.bad(key, "want a mapping with nodes (and optionally rules, reason), got %s", kind(e))
		return
	}
	var s Suppression
	for _, sk := range sortedKeys(m) {
		sv := m[sk]
		switch sk {
		case "rules", "rule":
			l, ok := stringList(sv)
			if !ok {
				p.bad(key+"."+sk, "want rule IDs, prefixes or names")
			}
			s.Rules = append(s.Rules, l...)
		case "nodes", "node":
			l, ok := stringList(sv)
			if !ok {
				p.bad(key+"."+sk, "want node-name globs")
			}
			s.Nodes = append(s.Nodes, l...)
		case "reason":
			s.Reason, _ = sv.(string)
		default:
			p.bad(key+"."+sk, "unknown key (want rules, nodes, reason)")
		}
	}
	if len(s.Nodes) == 0 {
		p.bad(key, "needs nodes: a list of node-name globs (use \"*\" for every node)")
	}
	for _, pat := range s.Rules {
		if len(MatchRules(p.rules, pat)) == 0 {
			p.bad(key+".rules", "%q matches no rule", pat)
		}
	}
	for _, g := range s.Nodes {
		s.res = append(s.res, globRegexp(g))
	}
	p.c.Suppress = append(p.c.Suppress, s)
}

func paramNames(r *Rule) string {
	if len(r.Params) == 0 {
		return "only severity"
	}
	var n []string
	for _, p := range r.Params {
		n = append(n, p.Name)
	}
	return "severity, " + strings.Join(n, ", ")
}

func sortedKeys(m map[string]any) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return "a string"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%v", v)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// stringList accepts a list of strings or one comma-separated string.
func stringList(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return SplitList(x), true
	case []any:
		var out []string
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, strings.TrimSpace(s))
		}
		return out, true
	}
	return nil, false
}

// SplitList splits a comma-separated list, dropping empty entries.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// globRegexp compiles a node-name glob: * matches any run of characters
// (slashes included, node names are scopes like /layer1/layer1.0/conv1/Conv),
// ? matches one character, everything else matches itself.
func globRegexp(g string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range g {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// MatchGlob reports whether name matches the node-name glob.
func MatchGlob(glob, name string) bool { return globRegexp(glob).MatchString(name) }

func findRule(rules []*Rule, key string) *Rule {
	for _, r := range rules {
		if strings.EqualFold(r.ID, key) || r.Name == key {
			return r
		}
	}
	return nil
}

// MatchRules returns the rules a selector names: "ALL", an ID, an ID
// prefix ("NN1", "NN20") or a rule name.
func MatchRules(rules []*Rule, sel string) []*Rule {
	var out []*Rule
	for _, r := range rules {
		if ruleMatches(sel, r.ID, r.Name) {
			out = append(out, r)
		}
	}
	return out
}

func ruleMatches(sel, id, name string) bool {
	sel = strings.TrimSpace(sel)
	return sel != "" && (strings.EqualFold(sel, "ALL") || strings.HasPrefix(id, strings.ToUpper(sel)) || name == sel)
}

// Select returns the rules chosen by select (all when empty) minus those
// matched by ignore, in registry order. A selector matching no rule is an
// error.
func Select(rules []*Rule, sel, ignore []string) ([]*Rule, error) {
	on := map[*Rule]bool{}
	if len(sel) == 0 {
		for _, r := range rules {
			on[r] = true
		}
	}
	for _, s := range sel {
		m := MatchRules(rules, s)
		if len(m) == 0 {
			return nil, fmt.Errorf("--select %q matches no rule (nnlint rules lists them)", s)
		}
		for _, r := range m {
			on[r] = true
		}
	}
	for _, s := range ignore {
		m := MatchRules(rules, s)
		if len(m) == 0 {
			return nil, fmt.Errorf("--ignore %q matches no rule (nnlint rules lists them)", s)
		}
		for _, r := range m {
			delete(on, r)
		}
	}
	var out []*Rule
	for _, r := range rules {
		if on[r] {
			out = append(out, r)
		}
	}
	return out, nil
}

// ParseFailOn reads a --fail-on value: the least severity that fails the
// run, or 0 for "none".
func ParseFailOn(s string) (Severity, error) {
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		return 0, nil
	}
	sev, err := ParseSeverity(s)
	if err != nil {
		return 0, fmt.Errorf("unknown --fail-on %q (want error, warning, info or none)", s)
	}
	return sev, nil
}

// suppressed reports whether a suppression silences d.
func (c *Config) suppressed(d Diagnostic) bool {
	if c == nil {
		return false
	}
	for _, s := range c.Suppress {
		if len(s.Rules) > 0 {
			hit := false
			for _, pat := range s.Rules {
				hit = hit || ruleMatches(pat, d.Rule, d.Name)
			}
			if !hit {
				continue
			}
		}
		for _, re := range s.res {
			if re.MatchString(d.Node) {
				return true
			}
		}
	}
	return false
}

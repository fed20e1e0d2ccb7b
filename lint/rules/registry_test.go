package rules_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/lint"
	"github.com/nnkit/nnkit/lint/rules"
)

// TestRegistry checks what every rule must have: a unique stable ID of the
// form NNxyz in registry order, a unique kebab-case name, a default
// severity, a Doc whose first line is a title and whose body says why and
// how to fix it (in PyTorch terms), documented parameters, and a Run.
func TestRegistry(t *testing.T) {
	idRE := regexp.MustCompile(`^NN[1-6][0-9]{2}$`)
	nameRE := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	ids, names := map[string]bool{}, map[string]bool{}
	prev := ""
	for _, r := range rules.All {
		if !idRE.MatchString(r.ID) {
			t.Errorf("%s: ID not of the form NNxyz", r.ID)
		}
		if ids[r.ID] {
			t.Errorf("%s: duplicate ID", r.ID)
		}
		if r.ID <= prev {
			t.Errorf("%s: registry not in ID order (after %s)", r.ID, prev)
		}
		prev = r.ID
		ids[r.ID] = true
		if !nameRE.MatchString(r.Name) || names[r.Name] {
			t.Errorf("%s: name %q not kebab-case or not unique", r.ID, r.Name)
		}
		names[r.Name] = true
		if r.Severity < lint.Info || r.Severity > lint.Error {
			t.Errorf("%s: no default severity", r.ID)
		}
		if r.Run == nil {
			t.Errorf("%s: no Run", r.ID)
		}
		lines := strings.Split(r.Doc, "\n")
		if len(lines) < 4 || strings.TrimSpace(lines[0]) == "" || lines[1] != "" {
			t.Errorf("%s: Doc must be a title line, a blank line, then the body", r.ID)
		}
		if strings.HasSuffix(r.Title(), ".") || len(r.Title()) > 100 {
			t.Errorf("%s: title %q should be short, without a final period", r.ID, r.Title())
		}
		body := r.Body()
		if !strings.Contains(body, "Why:") || !strings.Contains(body, "Fix:") {
			t.Errorf("%s: Doc body must explain Why: and Fix:", r.ID)
		}
		if !strings.Contains(body, "nn.") && !strings.Contains(body, "torch.") && r.ID != "NN502" {
			t.Errorf("%s: Doc should quote the PyTorch remedy", r.ID)
		}
		pnames := map[string]bool{}
		for _, p := range r.Params {
			if !nameRE.MatchString(p.Name) || pnames[p.Name] || p.Doc == "" {
				t.Errorf("%s: parameter %q needs a unique kebab-case name and a doc", r.ID, p.Name)
			}
			pnames[p.Name] = true
			if !strings.Contains(body, p.Name) {
				t.Errorf("%s: Doc does not mention setting %s", r.ID, p.Name)
			}
		}
		if got := rules.ByID(strings.ToLower(r.ID)); got != r {
			t.Errorf("ByID(%q) = %v", strings.ToLower(r.ID), got)
		}
		if got := rules.ByID(r.Name); got != r {
			t.Errorf("ByID(%q) = %v", r.Name, got)
		}
	}
	if rules.ByID("NN999") != nil || rules.ByID("") != nil {
		t.Error("ByID found a rule that does not exist")
	}
}

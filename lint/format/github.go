package format

import (
	"fmt"
	"io"
	"strings"

	"github.com/nnkit/nnkit/lint"
)

// GitHub writes GitHub Actions workflow commands: ::error, ::warning and
// ::notice annotations on the model file, titled with the rule. GitHub shows
// at most MaxAnnotations annotations of each type per step; the rest are
// written as plain log lines inside a collapsed group, and a summary line
// says how many were not annotated.
type GitHub struct{}

// MaxAnnotations is GitHub's per-step display limit for each annotation
// type (error, warning, notice).
const MaxAnnotations = 10

func ghCommand(s lint.Severity) string {
	switch s {
	case lint.Error:
		return "error"
	case lint.Warning:
		return "warning"
	}
	return "notice"
}

// escapeData escapes a workflow command's message exactly as GitHub's
// toolkit does (% → %25, CR → %0D, LF → %0A), after writing every other
// control character visibly (an ANSI escape in a node name must not
// recolour the log).
func escapeData(s string) string {
	return dataEscaper.Replace(cleanKeepingBreaks(s))
}

// escapeProperty escapes a workflow command's property value: as data,
// plus : → %3A and , → %2C.
func escapeProperty(s string) string {
	return propertyEscaper.Replace(cleanKeepingBreaks(s))
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// cleanKeepingBreaks is Clean except for CR and LF, which the workflow
// command escaping encodes.
func cleanKeepingBreaks(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return Clean(s)
	}
	var b strings.Builder
	for i, part := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		for j, p := range strings.Split(part, "\r") {
			if j > 0 {
				b.WriteByte('\r')
			}
			b.WriteString(Clean(p))
		}
	}
	return b.String()
}

// Format writes the annotations.
func (GitHub) Format(w io.Writer, r *Report) error {
	var b, rest strings.Builder
	used := map[string]int{}
	hidden := map[string]int{}
	for _, res := range r.Results {
		file := slashPath(res.File)
		if res.Err != nil {
			used["error"]++
			if used["error"] <= MaxAnnotations {
				fmt.Fprintf(&b, "::error file=%s,title=%s::%s\n", escapeProperty(file), escapeProperty("nnlint: cannot lint"), escapeData(res.Err.Error()))
			} else {
				hidden["error"]++
				fmt.Fprintf(&rest, "%s: error: %s\n", Clean(file), CleanLines(res.Err.Error(), "  "))
			}
			continue
		}
		for _, d := range res.Diagnostics {
			cmd := ghCommand(d.Severity)
			used[cmd]++
			title := d.Rule + " " + d.Name
			if d.Node != "" {
				title += " at " + d.Node
			}
			if used[cmd] <= MaxAnnotations {
				msg := d.Message
				if d.Fix != "" {
					msg += "\nFix: " + d.Fix
				}
				fmt.Fprintf(&b, "::%s file=%s,title=%s::%s\n", cmd, escapeProperty(file), escapeProperty(title), escapeData(msg))
				continue
			}
			hidden[cmd]++
			loc := Clean(file)
			if d.Node != "" {
				loc += ": " + Clean(d.Node)
			}
			fmt.Fprintf(&rest, "%s: %s %s %s: %s\n", loc, d.Severity, d.Rule, d.Name, CleanLines(d.Message, "  "))
		}
	}
	if rest.Len() > 0 {
		var parts []string
		for _, cmd := range []string{"error", "warning", "notice"} {
			if hidden[cmd] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", hidden[cmd], cmd))
			}
		}
		fmt.Fprintf(&b, "::group::nnlint: %s beyond GitHub's %d annotations per type per step\n", strings.Join(parts, ", "), MaxAnnotations)
		b.WriteString(rest.String())
		b.WriteString("::endgroup::\n")
	}
	c := r.Count()
	fmt.Fprintf(&b, "nnlint: %d errors, %d warnings, %d info in %d files", c.Errors, c.Warnings, c.Infos, c.Files)
	if c.FailedFiles > 0 {
		fmt.Fprintf(&b, " (%d could not be linted)", c.FailedFiles)
	}
	if n := hidden["error"] + hidden["warning"] + hidden["notice"]; n > 0 {
		fmt.Fprintf(&b, "; %d not shown as annotations (see the group above)", n)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

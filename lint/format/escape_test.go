package format

import "testing"

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain/name.onnx":   "plain/name.onnx",
		"a\x1b[31mb":        `a\x1b[31mb`,
		"a\nb\rc\td":        `a\nb\rc\td`,
		"\x00\x7f\u0085":    `\x00\x7f\u0085`,
		"rtl\u202eoverride": `rtl\u202eoverride`,
		"line\u2028sep":     `line\u2028sep`,
		"bad\xffutf8":       `bad\xffutf8`,
		"ünïcödé ≤ ∇W":      "ünïcödé ≤ ∇W",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCleanLines(t *testing.T) {
	for in, want := range map[string]string{
		"one line":                    "one line",
		"first\nsecond":               "first\n  second",
		"x\n::error::pwned":           "x\n  \\::error::pwned",
		"::notice::top":               `\::notice::top`,
		"a\x1b[2Kb\n  \t::warning::c": "a\\x1b[2Kb\n  \\  \\t::warning::c",
	} {
		if got := CleanLines(in, "  "); got != want {
			t.Errorf("CleanLines(%q) = %q, want %q", in, got, want)
		}
	}
}

// GitHub's toolkit escaping, exactly: data % CR LF; properties also : and ,.
func TestWorkflowCommandEscaping(t *testing.T) {
	if got, want := escapeData("50% done\r\nnext: a,b"), "50%25 done%0D%0Anext: a,b"; got != want {
		t.Errorf("escapeData = %q, want %q", got, want)
	}
	if got, want := escapeProperty("a:b,c%d\ne\rf"), "a%3Ab%2Cc%25d%0Ae%0Df"; got != want {
		t.Errorf("escapeProperty = %q, want %q", got, want)
	}
	if got, want := escapeData("\x1b[31mred"), `\x1b[31mred`; got != want {
		t.Errorf("escapeData keeps a raw escape: %q, want %q", got, want)
	}
}

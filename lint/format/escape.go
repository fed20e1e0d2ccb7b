package format

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Names, op types, file names and messages come from model files that may
// come from anywhere. In human-readable output they must not be able to
// move the cursor, recolour the terminal, rewrite earlier lines, or start a
// line that a CI runner reads as a command (GitHub's "::error ..."). Clean
// and CleanLines write every control character visibly, as a Go escape.

// unsafeRune reports runes that must not reach a terminal raw: C0 and C1
// controls, DEL, Unicode line and paragraph separators, and the bidi
// embedding, override and isolate controls (which reorder what is shown).
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == 0x2028, r == 0x2029, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

func needsCleaning(s string, keepNewlines bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 || c == 0x7f) && !(keepNewlines && c == '\n') {
				return true
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unsafeRune(r) {
			return true
		}
		i += n
	}
	return false
}

func clean(b *strings.Builder, s string, keepNewlines bool) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(b, `\x%02x`, s[i])
		case r == '\n' && keepNewlines:
			b.WriteByte('\n')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
}

// Clean returns s with every control character (newlines included) and
// invalid UTF-8 byte written as a Go escape: safe as part of one line.
func Clean(s string) string {
	if !needsCleaning(s, false) {
		return s
	}
	var b strings.Builder
	clean(&b, s, false)
	return b.String()
}

// CleanLines is Clean for multi-line text: newlines are kept, every line
// after the first is prefixed by indent, and a line that would begin
// (after the indent) with "::", a GitHub workflow command, gets a
// backslash in front so that no runner executes it.
func CleanLines(s, indent string) string {
	if !needsCleaning(s, true) && !strings.Contains(s, "\n") && !strings.HasPrefix(strings.TrimLeft(s, " \t"), "::") {
		return s
	}
	var b strings.Builder
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
			b.WriteString(indent)
		}
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), "::") {
			b.WriteByte('\\')
		}
		clean(&b, line, false)
	}
	return b.String()
}

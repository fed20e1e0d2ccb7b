package ir

import (
	"fmt"
	"strings"
)

// ErrorList collects every problem found by a validation instead of stopping
// at the first, like go/scanner.ErrorList.
type ErrorList []error

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	b.WriteString(l[0].Error())
	for _, e := range l[1:] {
		b.WriteString("\n")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Err returns nil for an empty list, else the list itself.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Unwrap exposes the individual errors to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error { return l }

// Add appends err if it is not nil; an ErrorList is flattened.
func (l *ErrorList) Add(err error) {
	if err == nil {
		return
	}
	if sub, ok := err.(ErrorList); ok {
		*l = append(*l, sub...)
		return
	}
	*l = append(*l, err)
}

// Limit returns the first n errors of l followed by one saying how many
// more there were ("... and 5 more"), for messages that list only the
// first problems of a long run (a data file's bad rows); l itself when it
// holds at most n.
func (l ErrorList) Limit(n int) ErrorList {
	if len(l) <= n {
		return l
	}
	return append(l[:n:n], fmt.Errorf("... and %d more", len(l)-n))
}

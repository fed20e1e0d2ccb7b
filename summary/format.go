package summary

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WriteJSON writes the summary as indented JSON.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteText writes a torchinfo-style table. Constant nodes are left out of
// the table (a footer counts them) unless all is set; JSON always lists
// every node.
func (s *Summary) WriteText(w io.Writer, all bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Model: %s\n", s.Model)
	meta := []string{}
	if s.Producer != "" {
		meta = append(meta, s.Producer)
	}
	meta = append(meta, fmt.Sprintf("IR %d, opset %d", s.IRVersion, s.Opset))
	switch s.ExportMode {
	case "training":
		meta = append(meta, "training-mode export")
	case "inference":
		meta = append(meta, "inference-mode export")
	}
	fmt.Fprintf(&b, "       %s\n", strings.Join(meta, ", "))
	for _, in := range s.Inputs {
		fmt.Fprintf(&b, "Input:  %s %s%s\n", in.Name, in.DType, shapeText(in.Shape))
	}
	for _, out := range s.Outputs {
		fmt.Fprintf(&b, "Output: %s %s%s\n", out.Name, out.DType, shapeText(out.Shape))
	}

	head := []string{"Layer", "Op", "Output shape", "Params", "MACs"}
	var rows [][]string
	widths := make([]int, len(head))
	for j, h := range head {
		widths[j] = len(h)
	}
	hidden := 0
	for _, l := range s.Layers {
		if l.Op == "Constant" && !all {
			hidden++
			continue
		}
		p := "-"
		switch {
		case l.Params > 0 && l.SharedParams > 0:
			p = fmt.Sprintf("%s (+%s shared)", commas(l.Params), commas(l.SharedParams))
		case l.Params > 0:
			p = commas(l.Params)
		case l.SharedParams > 0:
			p = fmt.Sprintf("(%s shared)", commas(l.SharedParams))
		}
		m := "-"
		if l.MACs > 0 {
			m = commas(l.MACs)
		}
		r := []string{l.Name, l.Op, shapeText(l.OutputShape), p, m}
		rows = append(rows, r)
		for j, c := range r {
			if n := utf8.RuneCountInString(c); n > widths[j] {
				widths[j] = n
			}
		}
	}
	const maxName = 56
	if widths[0] > maxName {
		widths[0] = maxName
	}
	total := len(head) - 1
	for _, w := range widths {
		total += w + 1
	}
	line := func(r rune) { b.WriteString(strings.Repeat(string(r), total) + "\n") }
	pad := func(c string, w int, right bool) string {
		n := utf8.RuneCountInString(c)
		if n > w { // keep the end of long names: it says the most
			r := []rune(c)
			c, n = "…"+string(r[n-w+1:]), w
		}
		if right {
			return strings.Repeat(" ", w-n) + c
		}
		return c + strings.Repeat(" ", w-n)
	}
	row := func(c []string) {
		fmt.Fprintf(&b, "%s  %s  %s  %s  %s\n", pad(c[0], widths[0], false), pad(c[1], widths[1], false),
			pad(c[2], widths[2], false), pad(c[3], widths[3], true), pad(c[4], widths[4], true))
	}
	line('=')
	row(head)
	line('=')
	for _, r := range rows {
		row(r)
	}
	line('=')
	t := s.Totals
	fmt.Fprintf(&b, "Total params:            %s\n", commas(t.Params))
	fmt.Fprintf(&b, "Trainable params:        %s\n", commas(t.TrainableParams))
	fmt.Fprintf(&b, "Non-trainable buffers:   %s\n", commas(t.Buffers))
	fmt.Fprintf(&b, "MACs per sample:         %s (%s)\n", commas(t.MACs), human(t.MACs))
	fmt.Fprintf(&b, "Params + buffers size:   %.2f MB\n", float64(t.Bytes)/1e6)
	line('=')
	if hidden > 0 {
		fmt.Fprintf(&b, "(%d Constant nodes not shown; --all shows every node)\n", hidden)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func shapeText(s []any) string {
	if s == nil {
		return "[?]"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// commas formats n with thousands separators, like torchinfo.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func human(n int64) string {
	f := float64(n)
	switch {
	case f >= 1e9:
		return fmt.Sprintf("%.2f G", f/1e9)
	case f >= 1e6:
		return fmt.Sprintf("%.2f M", f/1e6)
	case f >= 1e3:
		return fmt.Sprintf("%.2f K", f/1e3)
	}
	return fmt.Sprintf("%d", n)
}

package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nnkit/nnkit/ir"
)

// Limits on CSV files, checked while reading.
const (
	// MaxCSVRecord is the longest row accepted, in bytes (a row of 100000
	// features written with full float64 precision is ≈2.5 MB); a longer
	// one is usually an unterminated quote swallowing the file.
	MaxCSVRecord = 16 << 20
	// MaxCSVField is the longest field accepted, in bytes (a number needs
	// at most a few dozen; class names and column names a few hundred).
	MaxCSVField = 4096
)

// errLongRecord is returned by recordLimit.
var errLongRecord = fmt.Errorf("a row longer than %d bytes (an unterminated quote?)", MaxCSVRecord)

// recordLimit bounds how many bytes the CSV reader may take for one
// record: reset after every record (the reader's own buffering adds at
// most 4 KB of slack).
type recordLimit struct {
	r    io.Reader
	used int
}

func (l *recordLimit) Read(p []byte) (int, error) {
	if l.used >= MaxCSVRecord {
		return 0, errLongRecord
	}
	if len(p) > MaxCSVRecord-l.used {
		p = p[:MaxCSVRecord-l.used]
	}
	n, err := l.r.Read(p)
	l.used += n
	return n, err
}

// csvTable is a parsed CSV file before its labels are typed.
type csvTable struct {
	path   string
	header []string
	label  int       // label column
	x      []float32 // features, row-major
	labels []string  // raw label fields
	lines  []int     // line number of each row
}

// readCSV parses a CSV file with a header row. labelCol names the label
// column ("" = the last one).
func readCSV(path, labelCol string) (*csvTable, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseCSV(f, path, labelCol)
}

// parseCSV parses CSV text; path names it in messages.
func parseCSV(in io.Reader, path, labelCol string) (*csvTable, error) {
	lim := &recordLimit{r: in}
	r := csv.NewReader(lim)
	r.FieldsPerRecord = -1 // ragged rows are reported below, with their line
	r.ReuseRecord = true
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file; need a header row and one row per sample", path)
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s line %d: header: %w", path, pe.Line, pe.Err)
		}
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	lim.used = 0
	t := &csvTable{path: path, header: slices.Clone(head)}
	for j, h := range t.header {
		if len(h) > MaxCSVField {
			return nil, fmt.Errorf("%s line 1: column %d's name is %d bytes long, more than %d", path, j+1, len(h), MaxCSVField)
		}
	}
	if len(t.header) < 2 {
		return nil, fmt.Errorf("%s: the header has %d column; need at least one feature column and a label column", path, len(t.header))
	}
	t.label = len(t.header) - 1
	if labelCol != "" {
		t.label = slices.Index(t.header, labelCol)
		if t.label < 0 {
			return nil, &OptionError{OptLabelCol, fmt.Sprintf("%s: no column named %q (", path, labelCol), "); the header has " + strings.Join(t.header, ", "), nil}
		}
	}
	var errs ir.ErrorList
	lastLine := 1
	for len(errs) <= 100 {
		rec, err := r.Read()
		lim.used = 0
		if err == io.EOF {
			break
		}
		if err != nil {
			// FieldPos may only be called after a successful Read.
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				errs = append(errs, fmt.Errorf("%s line %d: %w", path, pe.Line, pe.Err))
				continue
			}
			if errors.Is(err, errLongRecord) {
				return nil, fmt.Errorf("%s: after line %d: %w", path, lastLine, err)
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		lastLine = line
		if len(rec) != len(t.header) {
			errs = append(errs, fmt.Errorf("%s line %d: %d fields, the header has %d (ragged row)", path, line, len(rec), len(t.header)))
			continue
		}
		bad := false
		for j, field := range rec {
			if len(field) > MaxCSVField {
				errs = append(errs, fmt.Errorf("%s line %d: column %q holds %d bytes, more than %d (an unterminated quote?)", path, line, t.header[j], len(field), MaxCSVField))
				bad = true
				break
			}
			if j == t.label {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(field), 64)
			switch {
			case err != nil && field == "":
				errs = append(errs, fmt.Errorf("%s line %d: column %q is empty", path, line, t.header[j]))
				bad = true
			case err != nil && !errors.Is(err, strconv.ErrRange):
				errs = append(errs, fmt.Errorf("%s line %d: column %q: %q is not a number", path, line, t.header[j], field))
				bad = true
			case math.IsNaN(v) || math.IsInf(v, 0) || math.IsInf(float64(float32(v)), 0):
				errs = append(errs, fmt.Errorf("%s line %d: column %q is %s (NaN/Inf in the data)", path, line, t.header[j], field))
				bad = true
			}
			if bad {
				break
			}
			t.x = append(t.x, float32(v))
		}
		if bad {
			t.x = t.x[:len(t.lines)*(len(t.header)-1)]
			continue
		}
		// Clone: the field shares one string with its whole row.
		t.labels = append(t.labels, strings.Clone(strings.TrimSpace(rec[t.label])))
		t.lines = append(t.lines, line)
		if len(t.x) > MaxArrayElements {
			return nil, fmt.Errorf("%s line %d: more than %d values; nnkit reads at most that many", path, line, MaxArrayElements)
		}
	}
	if err := errs.Limit(maxListed).Err(); err != nil {
		return nil, err
	}
	if len(t.lines) == 0 {
		return nil, fmt.Errorf("%s: no data rows after the header", path)
	}
	return t, nil
}

// labelKind is how a CSV label column is read: class indices when every
// value is an integer, float targets when every value is a number, class
// names otherwise.
type labelKind int

const (
	labelInt labelKind = iota
	labelFloat
	labelName
)

func kindOf(labels []string) labelKind {
	k := labelInt
	for _, s := range labels {
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			continue
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			k = labelFloat
			continue
		}
		return labelName
	}
	return k
}

// loadCSV reads train.csv and, if valPath is not "", val.csv with the same
// header and label type.
func loadCSV(trainPath, valPath, labelCol string) (train, val *Set, err error) {
	tt, err := readCSV(trainPath, labelCol)
	if err != nil {
		return nil, nil, err
	}
	var vt *csvTable
	if valPath != "" {
		if vt, err = readCSV(valPath, labelCol); err != nil {
			return nil, nil, err
		}
		if !slices.Equal(vt.header, tt.header) {
			return nil, nil, fmt.Errorf("%s: the header differs from %s's (%d vs %d columns: %s)", valPath, trainPath,
				len(vt.header), len(tt.header), strings.Join(vt.header, ","))
		}
	}
	return csvSets(tt, vt)
}

// csvSets types the labels of parsed tables (vt may be nil) and builds
// the sets.
func csvSets(tt, vt *csvTable) (train, val *Set, err error) {
	trainPath := tt.path
	kind := kindOf(tt.labels)
	if vt != nil {
		if vk := kindOf(vt.labels); vk > kind {
			kind = vk
		}
	}
	var classes []string
	if kind == labelName {
		seen := map[string]bool{}
		for _, s := range tt.labels {
			if !seen[s] {
				seen[s] = true
				classes = append(classes, s)
			}
		}
		slices.Sort(classes) // as ImageFolder sorts class folders
	}
	build := func(t *csvTable) (*Set, error) {
		s := &Set{File: t.path, N: len(t.lines), Shape: []int{len(t.header) - 1}, X: t.x, Classes: classes}
		lines := t.lines
		s.where = func(i int) string { return fmt.Sprintf("%s line %d", t.path, lines[i]) }
		var errs ir.ErrorList
		switch kind {
		case labelInt:
			s.Labels = make([]int64, s.N)
			for i, l := range t.labels {
				s.Labels[i], _ = strconv.ParseInt(l, 10, 64)
			}
		case labelFloat:
			s.TargetWidth = 1
			s.Targets = make([]float32, s.N)
			for i, l := range t.labels {
				v, _ := strconv.ParseFloat(l, 64)
				if math.IsNaN(v) || math.IsInf(float64(float32(v)), 0) {
					errs = append(errs, fmt.Errorf("%s: label %q is NaN or Inf", s.Where(i), l))
				}
				s.Targets[i] = float32(v)
			}
		case labelName:
			s.Labels = make([]int64, s.N)
			for i, l := range t.labels {
				c, ok := slices.BinarySearch(classes, l)
				if !ok {
					errs = append(errs, fmt.Errorf("%s: label %q is not a class of %s (%s)", s.Where(i), l, trainPath, strings.Join(classes, ", ")))
				}
				s.Labels[i] = int64(c)
			}
		}
		return s, errs.Limit(maxListed).Err()
	}
	if train, err = build(tt); err != nil {
		return nil, nil, err
	}
	if vt != nil {
		if val, err = build(vt); err != nil {
			return nil, nil, err
		}
	}
	return train, val, nil
}

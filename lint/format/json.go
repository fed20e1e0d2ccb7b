package format

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/nnkit/nnkit/lint"
)

// JSON writes the documented machine format (schema: nnlint.schema.json in
// this directory, version 1):
//
//	{
//	  "version": 1,
//	  "tool": {"name": "nnlint", "version": "0.1.0"},
//	  "diagnostics": [{"rule", "name", "severity", "file", "node", "op", "message", "fix", "related"?}],
//	  "files": [{"file", "error", "diagnostics", "probe"}],
//	  "summary": {"files", "failed_files", "errors", "warnings", "infos", "fail_on", "failed"}
//	}
//
// diagnostics is flat (one entry per finding, each naming its file) so that
// `jq '.diagnostics[] | select(.severity=="error")'` works; files carries
// per-file status and the probe's measurements.
type JSON struct{}

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonFile struct {
	File        string            `json:"file"`
	Error       *string           `json:"error"`
	Internal    bool              `json:"internal_error"`
	Diagnostics int               `json:"diagnostics"`
	Probe       *lint.ProbeReport `json:"probe"`
}

// fileEntry is a file's entry in the report's "files" list.
func fileEntry(res Result) jsonFile {
	f := jsonFile{File: res.File, Diagnostics: len(res.Diagnostics), Probe: res.Probe}
	if res.Err != nil {
		s := res.Err.Error()
		f.Error = &s
		f.Internal = res.Internal()
	}
	return f
}

type jsonSummary struct {
	Files       int    `json:"files"`
	FailedFiles int    `json:"failed_files"`
	Errors      int    `json:"errors"`
	Warnings    int    `json:"warnings"`
	Infos       int    `json:"infos"`
	FailOn      string `json:"fail_on"`
	Failed      bool   `json:"failed"`
}

// Format writes the report as indented JSON. It is written piece by
// piece, each diagnostic and each file encoded on its own, with the bytes
// encoding/json gives the whole report (TestJSONStreamed): a report of
// 100,000 findings (a 400k-node chain of dead ReLUs, issue 9) is 66 MB of
// JSON, which encoding it whole held three times over.
func (JSON) Format(w io.Writer, r *Report) error {
	failed := false
	var files []jsonFile
	for _, res := range r.Results {
		f := fileEntry(res)
		files = append(files, f)
		failed = failed || f.Error != nil || lint.AtLeast(res.Diagnostics, r.FailOn)
	}
	c := r.Count()
	sum := jsonSummary{Files: c.Files, FailedFiles: c.FailedFiles, Errors: c.Errors, Warnings: c.Warnings,
		Infos: c.Infos, FailOn: "none", Failed: failed}
	if r.FailOn != 0 {
		sum.FailOn = r.FailOn.String()
	}
	jw := newJSONWriter(w)
	jw.raw("{\n  \"version\": 1,\n  \"tool\": ")
	jw.value(jsonTool{"nnlint", lint.Version}, 1)
	jw.raw(",\n  \"diagnostics\": ")
	n := 0
	for _, res := range r.Results {
		for i := range res.Diagnostics {
			jw.element(n, &res.Diagnostics[i])
			n++
		}
	}
	jw.endArray(n)
	jw.raw(",\n  \"files\": ")
	for i := range files {
		jw.element(i, &files[i])
	}
	jw.endArray(len(files))
	jw.raw(",\n  \"summary\": ")
	jw.value(sum, 1)
	jw.raw("\n}\n")
	return jw.flush()
}

// jsonWriter writes a JSON document indented by two spaces a level, one
// value at a time, and keeps the first error.
type jsonWriter struct {
	w   *bufio.Writer
	buf bytes.Buffer
	enc [3]*json.Encoder // by nesting level of the value's first line
	err error
}

func newJSONWriter(w io.Writer) *jsonWriter {
	jw := &jsonWriter{w: bufio.NewWriterSize(w, 64<<10)}
	for level := range jw.enc {
		e := json.NewEncoder(&jw.buf)
		e.SetIndent(strings.Repeat("  ", level), "  ")
		e.SetEscapeHTML(false)
		jw.enc[level] = e
	}
	return jw
}

func (jw *jsonWriter) raw(s string) {
	if jw.err == nil {
		_, jw.err = jw.w.WriteString(s)
	}
}

// value writes v, whose first line is already indented to level.
func (jw *jsonWriter) value(v any, level int) {
	if jw.err != nil {
		return
	}
	jw.buf.Reset()
	if jw.err = jw.enc[level].Encode(v); jw.err != nil {
		return
	}
	b := jw.buf.Bytes()
	_, jw.err = jw.w.Write(b[:len(b)-1]) // without Encode's newline
}

// element writes element i of an array opened at level 1.
func (jw *jsonWriter) element(i int, v any) {
	if i == 0 {
		jw.raw("[\n    ")
	} else {
		jw.raw(",\n    ")
	}
	jw.value(v, 2)
}

// endArray closes an array of n elements opened at level 1.
func (jw *jsonWriter) endArray(n int) {
	if n == 0 {
		jw.raw("[]")
	} else {
		jw.raw("\n  ]")
	}
}

func (jw *jsonWriter) flush() error {
	if jw.err != nil {
		return jw.err
	}
	return jw.w.Flush()
}

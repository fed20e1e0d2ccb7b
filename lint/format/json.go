package format

import (
	"encoding/json"
	"io"

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

type jsonSummary struct {
	Files       int    `json:"files"`
	FailedFiles int    `json:"failed_files"`
	Errors      int    `json:"errors"`
	Warnings    int    `json:"warnings"`
	Infos       int    `json:"infos"`
	FailOn      string `json:"fail_on"`
	Failed      bool   `json:"failed"`
}

type jsonReport struct {
	Version     int               `json:"version"`
	Tool        jsonTool          `json:"tool"`
	Diagnostics []lint.Diagnostic `json:"diagnostics"`
	Files       []jsonFile        `json:"files"`
	Summary     jsonSummary       `json:"summary"`
}

// Format writes the report as indented JSON.
func (JSON) Format(w io.Writer, r *Report) error {
	out := jsonReport{Version: 1, Tool: jsonTool{"nnlint", lint.Version}, Diagnostics: []lint.Diagnostic{}, Files: []jsonFile{}}
	failed := false
	for _, res := range r.Results {
		f := jsonFile{File: res.File, Diagnostics: len(res.Diagnostics), Probe: res.Probe}
		if res.Err != nil {
			s := res.Err.Error()
			f.Error = &s
			f.Internal = res.Internal()
			failed = true
		}
		out.Files = append(out.Files, f)
		out.Diagnostics = append(out.Diagnostics, res.Diagnostics...)
		failed = failed || lint.AtLeast(res.Diagnostics, r.FailOn)
	}
	c := r.Count()
	out.Summary = jsonSummary{Files: c.Files, FailedFiles: c.FailedFiles, Errors: c.Errors, Warnings: c.Warnings,
		Infos: c.Infos, FailOn: "none", Failed: failed}
	if r.FailOn != 0 {
		out.Summary.FailOn = r.FailOn.String()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

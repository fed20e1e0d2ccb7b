package format

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"

	"github.com/nnkit/nnkit/lint"
)

// SARIF writes a SARIF 2.1.0 log that GitHub code scanning accepts: every
// rule of the registry is described (id, name, short and full description,
// help, default level), each result has a stable ruleId, a location in the
// model file (line 1: the file is binary; the ONNX node is the logical
// location) and partialFingerprints that do not depend on the message's
// measured numbers, so alerts stay matched across runs.
type SARIF struct{}

// SARIFSchemaURI is the $schema nnlint writes.
const SARIFSchemaURI = "https://json.schemastore.org/sarif-2.1.0.json"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	ColumnKind  string            `json:"columnKind"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version"`
	SemanticVer    string      `json:"semanticVersion"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string        `json:"id"`
	Name                 string        `json:"name"`
	ShortDescription     sarifText     `json:"shortDescription"`
	FullDescription      sarifText     `json:"fullDescription"`
	Help                 sarifText     `json:"help"`
	DefaultConfiguration sarifConfig   `json:"defaultConfiguration"`
	Properties           sarifRuleProp `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifRuleProp struct {
	Tags []string `json:"tags"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

func sarifLevel(s lint.Severity) string {
	switch s {
	case lint.Error:
		return "error"
	case lint.Warning:
		return "warning"
	}
	return "note"
}

var ruleTags = map[byte]string{
	'1': "gradient-flow", '2': "initialization", '3': "regularization", '4': "output-layer",
	'5': "export", '6': "probe",
}

func artifact(file string) sarifArtifact {
	p := slashPath(file)
	a := sarifArtifact{URI: (&url.URL{Path: p}).String()}
	if !filepath.IsAbs(file) {
		a.URIBaseID = "%SRCROOT%"
	}
	return a
}

func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Format writes the SARIF log.
func (SARIF) Format(w io.Writer, r *Report) error {
	driver := sarifDriver{Name: "nnlint", InformationURI: lint.InfoURI, Version: lint.Version, SemanticVer: lint.Version, Rules: []sarifRule{}}
	index := map[string]int{}
	for i, rule := range r.Rules {
		index[rule.ID] = i
		tags := []string{"training-health"}
		if len(rule.ID) > 2 {
			if t, ok := ruleTags[rule.ID[2]]; ok {
				tags = append(tags, t)
			}
		}
		help := fmt.Sprintf("%s\n\n%s", rule.Title(), rule.Body())
		driver.Rules = append(driver.Rules, sarifRule{
			ID:                   rule.ID,
			Name:                 rule.Name,
			ShortDescription:     sarifText{Text: rule.Title()},
			FullDescription:      sarifText{Text: rule.Body()},
			Help:                 sarifText{Text: help, Markdown: fmt.Sprintf("## %s (%s %s)\n\n```text\n%s\n```\n", rule.Title(), rule.ID, rule.Name, rule.Body())},
			DefaultConfiguration: sarifConfig{Level: sarifLevel(rule.Severity)},
			Properties:           sarifRuleProp{Tags: tags},
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}, ColumnKind: "unicodeCodePoints"}
	inv := sarifInvocation{ExecutionSuccessful: true}
	for _, res := range r.Results {
		loc := sarifLocation{PhysicalLocation: &sarifPhysical{ArtifactLocation: artifact(res.File), Region: &sarifRegion{StartLine: 1}}}
		if res.Err != nil {
			inv.ExecutionSuccessful = false
			inv.Notifications = append(inv.Notifications, sarifNotification{Level: "error", Message: sarifText{Text: res.Err.Error()}, Locations: []sarifLocation{loc}})
			continue
		}
		seen := map[string]int{}
		for _, d := range res.Diagnostics {
			i, ok := index[d.Rule]
			if !ok {
				return fmt.Errorf("sarif: diagnostic for rule %s, which is not in the registry", d.Rule)
			}
			key := d.Rule + "\x00" + d.Node
			seen[key]++
			l := loc
			if d.Node != "" {
				l.LogicalLocations = []sarifLogical{{Name: d.Node, FullyQualifiedName: slashPath(res.File) + "::" + d.Node, Kind: "function"}}
			}
			msg := d.Message
			if d.Fix != "" {
				msg += "\n\nFix: " + d.Fix
			}
			props := map[string]any{"node": d.Node, "op": d.Op}
			if len(d.Related) > 0 {
				props["related"] = d.Related
			}
			run.Results = append(run.Results, sarifResult{
				RuleID:    d.Rule,
				RuleIndex: i,
				Level:     sarifLevel(d.Severity),
				Message:   sarifText{Text: msg},
				Locations: []sarifLocation{l},
				PartialFingerprints: map[string]string{
					// GitHub matches alerts on this key (combined with the path
					// and rule); it must not change when the numbers do.
					"primaryLocationLineHash": fmt.Sprintf("%s:%d", fingerprint(d.Rule, d.Node)[:16], seen[key]),
					"nnlint/v1":               fingerprint(d.Rule, slashPath(res.File), d.Node, fmt.Sprint(seen[key])),
				},
				Properties: props,
			})
		}
	}
	run.Invocations = []sarifInvocation{inv}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: SARIFSchemaURI, Version: "2.1.0", Runs: []sarifRun{run}})
}

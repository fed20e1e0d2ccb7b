// Package format writes nnlint results: one formatter per output format,
// all fed the same Report by the one driver (cmd/nnlint).
//
//	text    for people: file, node, severity, rule, message and a fix line;
//	        colour only when asked (a terminal), a summary line at the end
//	json    the documented schema in nnlint.schema.json (version 1)
//	sarif   SARIF 2.1.0 for GitHub code scanning (stable ruleId, rule help,
//	        partialFingerprints)
//	github  GitHub Actions workflow commands (::error/::warning/::notice),
//	        at most 10 annotations per type as GitHub shows per step, the
//	        rest as log lines and a summary
//
// Example:
//
//	f, err := format.New("sarif", format.Options{})
//	err = f.Format(os.Stdout, &format.Report{Results: results, Rules: rules.All})
package format

#!/usr/bin/python3
"""Tabulate nnlint JSON reports of the corpus: one row per model, findings per export.

    table.py DIR            # DIR/<model>.<train|eval>.json (nnlint --format json output)
    table.py BEFORE AFTER   # both, side by side (markdown)

A finding is written RULE:s (s = E error, W warning, I info); repeated findings are counted
(NN603:W×3). Probe timings come from DIR/<name>.time (/usr/bin/time -f "%e s %M KB").
"""
import collections
import glob
import json
import os
import sys


def findings(path):
    try:
        d = json.load(open(path))
    except Exception as e:
        return "(no report: %s)" % type(e).__name__
    errs = [f["error"] for f in d.get("files", []) if f.get("error")]
    c = collections.Counter()
    order = []
    for x in d["diagnostics"]:
        k = "%s:%s" % (x["rule"], x["severity"][0].upper())
        if k not in c:
            order.append(k)
        c[k] += 1
    s = " ".join(k if c[k] == 1 else "%s×%d" % (k, c[k]) for k in sorted(order))
    if errs:
        s += " (error: %s)" % errs[0][:60]
    return s or "—"


def timing(path):
    try:
        return open(path).read().strip().splitlines()[-1]
    except OSError:
        return ""


def main(dirs):
    models = sorted({os.path.basename(p).rsplit(".", 2)[0] for d in dirs for p in glob.glob(d + "/*.json")})
    hdr = ["model"]
    for d in dirs:
        tag = os.path.basename(d.rstrip("/"))
        hdr += ["train (%s)" % tag, "eval (%s)" % tag]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for m in models:
        row = [m]
        for d in dirs:
            for mode in ("train", "eval"):
                row.append(findings("%s/%s.%s.json" % (d, m, mode)))
        print("| " + " | ".join(row) + " |")
    if "--times" in os.environ.get("TABLE_OPTS", ""):
        for d in dirs:
            for p in sorted(glob.glob(d + "/*.time")):
                print(os.path.basename(p), timing(p))


if __name__ == "__main__":
    main(sys.argv[1:])

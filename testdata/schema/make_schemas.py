"""Dumps ONNX's own operator schemas for the operators in ir/schema.go, for
opsets 7 through the installed onnx's newest (Debian python3-onnx 1.12:
opset 17), so that ir's table is checked against the specification's code
rather than against itself (ir/schema_onnx_test.go reads the output).

    /usr/bin/python3 testdata/schema/make_schemas.py > testdata/schema/onnx_schemas.json
"""
import json
import sys

import onnx
from onnx import defs

OPS = sys.argv[1:] or [l.strip() for l in open(__file__.replace("make_schemas.py", "ops.txt")) if l.strip()]
MAX = defs.onnx_opset_version()
KINDS = {
    1: "float", 2: "int", 3: "string", 4: "tensor", 5: "graph", 6: "floats", 7: "ints",
    8: "strings", 9: "tensors", 10: "graphs", 11: "sparse_tensor", 12: "sparse_tensors",
    13: "type_proto", 14: "type_protos",
}
out = {"onnx": onnx.__version__, "max_opset": MAX, "ops": {}}
unb = lambda n: -1 if n >= 2**31 - 1 else n
for op in OPS:
    # One entry per version in effect at some opset from 7 on, keyed by the
    # opset it appeared in; null where the operator does not exist (yet) or
    # is deprecated.
    per = {}
    for opset in range(7, MAX + 1):
        try:
            s = defs.get_schema(op, opset, "")
        except Exception:
            s = None
        if s is None or s.deprecated:
            key, val = str(opset if s is None else s.since_version), None
        else:
            key, val = str(s.since_version), {
                "in": [s.min_input, unb(s.max_input)],
                "out": [s.min_output, unb(s.max_output)],
                "attrs": {name: KINDS[int(a.type)] for name, a in sorted(s.attributes.items())},
            }
        if per and list(per.values())[-1] == val:
            continue
        per[key] = val
    out["ops"][op] = per
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()

#!/usr/bin/python3
"""Check the inference graphs nntrain wrote with ONNX's own Python package.

Usage: check_inference.py CASES_DIR

CASES_DIR is what `NNKIT_ORT_OUT=CASES_DIR go test ./cmd/nntrain -run
TestWriteORTCases` wrote; its cases.json marks the models nntrain fine-tuned
(and nntrain export converted) with mode "predict". Each must pass
onnx.checker.check_model with full_check (strict shape inference) and be in
inference form: no Dropout, every BatchNormalization with one output (and
training_mode 0 at opset >= 14), no initializer or graph input nothing reads,
and metadata nnkit.graph = inference. Exits 1 on the first failure.
"""
import json
import os
import sys

import onnx


def problems(m):
    opset = next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    read = {i for n in m.graph.node for i in n.input} | {o.name for o in m.graph.output}
    for n in m.graph.node:
        if n.op_type == "Dropout":
            yield f"Dropout {n.name} left"
        if n.op_type == "BatchNormalization":
            if len([o for o in n.output if o]) != 1:
                yield f"BatchNormalization {n.name} has {len(n.output)} outputs"
            mode = [a.i for a in n.attribute if a.name == "training_mode"]
            if opset >= 14 and mode != [0]:
                yield f"BatchNormalization {n.name}: training_mode {mode}"
    for t in m.graph.initializer:
        if t.name not in read:
            yield f"initializer {t.name} is not read"
    for i in m.graph.input:
        if i.name not in read:
            yield f"graph input {i.name} is not read"
    meta = {p.key: p.value for p in m.metadata_props}
    if meta.get("nnkit.graph") != "inference":
        yield f"metadata nnkit.graph = {meta.get('nnkit.graph')!r}"


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "cases.json")) as f:
        cases = [c for c in json.load(f) if c["mode"] == "predict"]
    for c in cases:
        path = os.path.join(d, c["model"])
        onnx.checker.check_model(path, full_check=True)
        bad = list(problems(onnx.load(path)))
        if bad:
            print(f"{path}: " + "; ".join(bad))
            return 1
    print(f"onnx.checker (full_check) accepted {len(cases)} inference graphs written by nntrain; "
          "none keeps a training-mode construct")
    return 0 if cases else 1


if __name__ == "__main__":
    sys.exit(main())

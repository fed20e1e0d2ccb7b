#!/usr/bin/python3
"""Check models written by nnkit's onnxio with ONNX's own Python package.

Usage: check_onnx.py OUT_DIR MODELS_DIR

OUT_DIR holds what `NNKIT_ROUNDTRIP_OUT=OUT_DIR go test ./onnxio -run
TestWriteFixtures` wrote: inline/<model>__<file> and external/<model>__<file>
(with .data side files). For each written model this runs
onnx.checker.check_model on the file and compares the loaded message, with
external data pulled in, to onnx.load of the original fixture. Exits 1 on the
first difference.
"""
import gzip
import os
import sys

import onnx
from onnx import external_data_helper


def load_original(models_dir, name):
    model, file = name.split("__", 1)
    path = os.path.join(models_dir, model, file)
    if os.path.exists(path):
        return onnx.load(path)
    with gzip.open(path + ".gz", "rb") as f:
        return onnx.load_from_string(f.read())


def main():
    out_dir, models_dir = sys.argv[1], sys.argv[2]
    checked = 0
    for mode in ("inline", "external"):
        d = os.path.join(out_dir, mode)
        for name in sorted(os.listdir(d)):
            if not name.endswith(".onnx"):
                continue
            path = os.path.join(d, name)
            onnx.checker.check_model(path)
            got = onnx.load(path)  # loads external data next to the file
            if mode == "external":
                # onnx.load has already pulled the data in; check that the
                # file really used external data.
                raw = onnx.load(path, load_external_data=False)
                ext = {t.name for t in raw.graph.initializer
                       if external_data_helper.uses_external_data(t)}
                if not ext:
                    print(f"{path}: no tensor stored externally")
                    return 1
                # Loading leaves data_location explicitly set to DEFAULT;
                # the original never had the field.
                for t in got.graph.initializer:
                    if t.name in ext and t.data_location == onnx.TensorProto.DEFAULT:
                        t.ClearField("data_location")
            want = load_original(models_dir, name)
            if got != want:
                print(f"{path}: differs from the original after the round trip")
                return 1
            checked += 1
    print(f"onnx.checker accepted {checked} models written by onnxio; "
          "each equals its original message")
    return 0 if checked else 1


if __name__ == "__main__":
    sys.exit(main())

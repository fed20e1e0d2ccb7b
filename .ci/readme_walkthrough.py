#!/usr/bin/python3
"""Run the README's fine-tuning walkthrough as written: its `go run` commands
and its ONNX Runtime script, with /tmp/ replaced by a fresh directory.

Usage: NODE_PATH=.../node_modules readme_walkthrough.py   (from the repository root)

Fails unless ONNX Runtime's accuracy equals the one nntrain predict printed and
the script's max |ORT - nntrain predict| / max |output| is at most 1e-5 (issue
14's bar for a fine-tuned model).
"""
import os
import re
import subprocess
import sys
import tempfile


def main():
    text = open("README.md", encoding="utf-8").read()
    start = text.index("### Fine-tuning walkthrough")
    end = text.index("\n### ", start + 1)
    sec = text[start:end]
    cmds = [l.strip() for l in sec.splitlines() if l.strip().startswith("go run ./cmd/")]
    js = re.search(r"```js\n(.*?)```", sec, re.S).group(1)
    if len(cmds) < 2:
        print("README walkthrough: expected a fine-tune and a predict command, found", cmds)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        cmds = [c.replace("/tmp/", tmp + "/") for c in cmds]
        js = js.replace("/tmp/", tmp + "/")
        out = ""
        for c in cmds:
            r = subprocess.run(c, shell=True, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"README walkthrough: `{c}` exited {r.returncode}:\n{r.stdout}{r.stderr}")
                return 1
            out += r.stdout
        script = os.path.join(tmp, "check.js")
        with open(script, "w") as f:
            f.write(js)
        r = subprocess.run(["node", script], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"README walkthrough: node check.js exited {r.returncode}:\n{r.stdout}{r.stderr}")
            return 1
    m = re.search(r"val accuracy ([0-9.]+), max .* = ([0-9.e+-]+)", r.stdout)
    want = re.search(r"accuracy ([0-9.]+) \(", out)
    if not m or not want:
        print("README walkthrough: unexpected output:\n" + out + r.stdout)
        return 1
    acc, rel = float(m.group(1)), float(m.group(2))
    if acc != float(want.group(1)) or not rel <= 1e-5:
        print(f"README walkthrough: ONNX Runtime accuracy {acc} (nntrain predict {want.group(1)}), "
              f"relative difference {rel}")
        return 1
    print("README walkthrough: " + r.stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())

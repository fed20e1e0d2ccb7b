#!/usr/bin/env node
// ONNX Runtime interop check: run every case written by
//   NNKIT_ORT_OUT=DIR go test ./cmd/nntrain -run '^TestWriteORTCases$'
// (models as nnkit's onnxio writes them, inputs, and nnkit's outputs) in
// ONNX Runtime and compare: max |ort - nnkit| / max |ort| <= tolerance.
// Cases of mode "predict" are models nntrain fine-tuned and wrote (the
// inference graph), compared with nntrain predict's output on them.
// Usage: node .ci/ort_check.js [-v] DIR   (needs onnxruntime-node on NODE_PATH;
// -v prints every case's difference)
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function readF32(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

function readI64(file) {
  const b = fs.readFileSync(file);
  return new BigInt64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

(async () => {
  const args = process.argv.slice(2);
  const verbose = args[0] === '-v';
  const dir = args[verbose ? 1 : 0];
  const worstBy = {};
  const cases = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8'));
  let failed = 0, worst = 0, worstName = '';
  for (const c of cases) {
    let msg;
    try {
      const s = await ort.InferenceSession.create(path.join(dir, c.model));
      const x = c.input_type === 'int64'
        ? new ort.Tensor('int64', readI64(path.join(dir, c.input)), c.input_shape)
        : new ort.Tensor('float32', readF32(path.join(dir, c.input)), c.input_shape);
      const out = await s.run({ [c.input_name]: x });
      const got = out[s.outputNames[0]].data;
      const want = readF32(path.join(dir, c.output));
      if (got.length !== want.length) {
        msg = `${got.length} values, nnkit has ${want.length}`;
      } else {
        let d = 0, scale = 0;
        for (let i = 0; i < got.length; i++) {
          d = Math.max(d, Math.abs(got[i] - want[i]));
          scale = Math.max(scale, Math.abs(got[i]));
        }
        const rel = d / (scale || 1);
        if (!(rel <= c.tolerance)) msg = `relative difference ${rel.toExponential(2)} > ${c.tolerance}`;
        if (rel > worst) { worst = rel; worstName = c.name; }
        if (!(c.mode in worstBy) || rel > worstBy[c.mode][0]) worstBy[c.mode] = [rel, c.name];
        if (verbose) console.log(`${c.mode.padEnd(8)} ${rel.toExponential(2)}  ${c.name}`);
      }
    } catch (e) {
      msg = `ONNX Runtime: ${e.message}`;
    }
    if (msg) { failed++; console.log(`FAIL ${c.name} (${c.mode}): ${msg}`); }
  }
  console.log(`ONNX Runtime ${require('onnxruntime-node/package.json').version}: ` +
    `${cases.length - failed}/${cases.length} models written by nnkit agree with nnkit's executor ` +
    `(worst ${worst.toExponential(2)}, ${worstName})`);
  for (const [mode, [rel, name]] of Object.entries(worstBy)) {
    console.log(`  ${mode}: worst ${rel.toExponential(2)} (${name})`);
  }
  process.exit(failed ? 1 : 0);
})();

// ONNX Runtime (npm onnxruntime-node) beside nnkit and PyTorch in bench/compare.py:
// times session.run on one ONNX model and one input, 2 intra-op threads,
// sequential execution, all graph optimizations. Prints {"samples_per_s": x}.
//
//   NODE_PATH=/work/ort/node_modules node bench/ort_predict.js model.onnx input.bin N,C,H,W seconds
//
// input.bin holds the float32 input (little-endian, N·C·H·W values), the
// same array PyTorch gets.
const fs = require("fs");
const ort = require("onnxruntime-node");

async function main() {
  const [model, inputFile, dimsArg, secondsArg] = process.argv.slice(2);
  const dims = dimsArg.split(",").map(Number);
  const seconds = Number(secondsArg);
  const buf = fs.readFileSync(inputFile);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  if (data.length !== dims.reduce((a, b) => a * b, 1)) {
    throw new Error(`${inputFile}: ${data.length} values for shape ${dimsArg}`);
  }
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", data, dims) };
  const warm = Number(process.env.WARMUP || 5);
  for (let i = 0; i < warm; i++) await session.run(feeds);
  let n = 0;
  const t0 = process.hrtime.bigint();
  let el = 0;
  while (el < seconds || n < 3) {
    await session.run(feeds);
    n++;
    el = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  console.log(JSON.stringify({ samples_per_s: (dims[0] * n) / el }));
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});

// Command nntrain fine-tunes an ONNX model exported from PyTorch on the CPU
// with PyTorch-exact optimizers, schedulers, clipping and regularization, and
// runs models for prediction.
//
//	nntrain [flags] model.onnx data/                 fine-tune (see nntrain -h)
//	nntrain predict model.onnx input.npy -o out.npy  run in eval mode
//	nntrain export train.onnx -o infer.onnx          training graph → inference graph
//
// Exit codes: 0 success, 1 training failed, 2 usage or input error.
package main

import (
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "predict" {
		return runPredict(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "export" {
		return runExport(args[1:], stdout, stderr)
	}
	return runTrain(args, stdout, stderr)
}

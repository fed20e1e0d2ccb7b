// Package loss holds nnkit's training criteria with their gradients with
// respect to the model output: cross-entropy (log-softmax + NLL), binary
// cross-entropy on logits, mean squared error and mean absolute error, all
// with PyTorch's mean reduction.
//
// A criterion reads a model output of n rows by k columns (row-major) and
// a batch of targets — class indices or float values — and returns the
// loss, writing dLoss/dOutput into a caller-given slice:
//
//	crit, _ := loss.ByName("ce")
//	grad := make([]float32, len(out))
//	l := crit.Eval(grad, out, n, k, loss.Target{Labels: labels})
//	// feed grad to exec.Program.Backward as the output's gradient
//
// Values are accumulated in float64 and gradients rounded once to float32,
// so they agree with PyTorch's float32 results to a few ulps.
package loss

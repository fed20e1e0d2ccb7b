// Package doctor watches a training run and diagnoses what goes wrong —
// NaN loss, exploding or vanishing gradients, dying ReLUs, saturated
// sigmoid/tanh units, oscillating or slow loss, over- and underfitting, a
// learning rate too high or too low — and, in fix mode, repairs it.
//
// A Doctor is a train.Hook. Every step it reads the loss and the total
// gradient norm the loop already computed; every Every steps it samples
// per-layer gradient and weight norms, the update/weight ratio of one step,
// and the fraction of dead ReLU units and saturated sigmoid/tanh inputs
// (from the values the executor kept from that step's forward pass, so no
// extra computation); after every epoch it reads the train/validation
// curves. Each finding is a Diagnosis of a fixed Kind (see Vocabulary),
// emitted once per kind and layer as a "diagnosis" event with the measured
// evidence and the advice (a train.Text naming the settings to change,
// worded as Loop.Name words settings); the end of the run prints a summary.
//
// In fix mode the doctor also keeps the last good state (weights,
// BatchNorm statistics, optimizer state) and, on a diagnosis, rolls back
// to it and applies the remedy (lower or raise the learning rate, enable
// clipping, switch SGD to Adam, re-initialize dead units, early stopping,
// less dropout or weight decay), a bounded number of times, logging each
// as a "repair" event.
//
//	d := doctor.New(model, doctor.Settings{Optimizer: opt}, doctor.Config{Mode: doctor.Warn, Summary: os.Stderr})
//	l.Hooks = append(l.Hooks, d)
//	res, err := l.Run()
//	d.Diagnoses() // what it found
package doctor

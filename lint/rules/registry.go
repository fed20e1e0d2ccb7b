package rules

import (
	"strings"

	"github.com/nnkit/nnkit/lint"
)

// All is every rule, in ID order. IDs are never reused.
var All = []*lint.Rule{
	SaturatingChain,
	DeepNoNorm,
	DeepPlainStack,
	ConstantWeights,
	NonFiniteWeights,
	InitScale,
	DropoutRate,
	DropoutBeforeBatchNorm,
	DropoutBeforeOutput,
	BiasBeforeBatchNorm,
	OutputActivation,
	InferenceExport,
	UnusedInitializer,
	UnsupportedOp,
	ProbeUnavailable,
	VanishingGradients,
	ExplodingGradients,
	DeadReLU,
}

// ByID returns the rule with the given ID (any case) or name, or nil.
func ByID(key string) *lint.Rule {
	for _, r := range All {
		if strings.EqualFold(r.ID, key) || r.Name == key {
			return r
		}
	}
	return nil
}

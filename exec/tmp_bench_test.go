package exec

import "testing"

func BenchmarkTrainMobileNetV2(b *testing.B) { benchTrainFile(b, "mobilenet_v2", "train.onnx.gz", 16) }

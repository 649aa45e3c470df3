#pragma once
// Cross-request batching on the CPU device: several requests of one model run
// as one inference with their inputs stacked along dimension 0, so that the
// weights are read once per batch instead of once per request (mlp at batch 1
// streams 7.4 MB of weights per 0.004 GFLOP; resnet50 THROUGHPUT +19 % at batch
// 8, measured here). A request gets exactly what it would get alone only when
// no op mixes samples along dimension 0; batch_blocker checks that.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "autosched/model.hpp"
#include "autosched/properties.hpp"

namespace autosched::cpu {

// Why `model` cannot run several requests as one batch along dimension 0 (naming
// the input, output or node), or nullopt when it can. It can when every input has
// a static shape with dimension 0 equal to 1, every value computed from the inputs
// has dimension 0 equal to the batch and its other dimensions unchanged when the
// inputs take batch 2 (shape inference over the whole graph), every output is
// computed from the inputs, and every node on the way is an op known to treat
// dimension 0 sample by sample with attributes that keep it so (no Softmax,
// Concat, Gather, Transpose, reduction ... over axis 0; no recurrent ops; no
// MaxPool indices), whose batched operands have one rank (broadcasting aligns
// trailing dimensions) and which reads nothing derived from a Shape of them
// (the batch size; refused even as a Reshape target, which graph shape
// inference cannot evaluate).
std::optional<std::string> batch_blocker(const Model& model);

struct BatchChoice {
  unsigned batch = 1;  // requests per inference (1: no batching)
  std::string reason;  // the compiled model's "batching" property
};

// The batch for a compiled model. `requested` is the max_batch_size property
// (0: automatic, 1: off, N: up to N). Automatic batches only with a THROUGHPUT
// hint: the largest power of two B ≤ 32 with B × activations ≤ weights / 2, so
// that a batch's activations stay within half the weights it shares (mlp: 32,
// resnet50: 8, mobilenetv2: 2). `blocker` is batch_blocker's answer.
BatchChoice choose_batch(std::int64_t requested, PerformanceMode mode, const std::optional<std::string>& blocker,
                         std::size_t weight_bytes, std::size_t activation_bytes);

}  // namespace autosched::cpu

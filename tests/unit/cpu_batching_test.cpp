// Cross-request batching on the CPU device (devices/cpu/batching.hpp): which
// models may stack requests along dimension 0, how large a batch the device
// picks, and that a stacked inference gives every request what it gets alone.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "cpu_test_support.hpp"
#include "devices/cpu/batching.hpp"
#include "devices/cpu/cpu_compiled_model.hpp"

namespace autosched::test {
namespace {

using cpu::batch_blocker;
using cpu::choose_batch;

// conv (1x1, so no Winograd) + relu → global pool → flatten → gemm → softmax over the classes.
Model small_classifier(const std::string& softmax_axis_name = "", std::int64_t softmax_axis = -1) {
  TestGraph g;
  auto x = g.input("x", Shape{1, 8, 6, 6});
  auto c = g.node("Relu", {g.node("Conv", {x, g.weight("w", {16, 8, 1, 1}), g.weight("b", {16})})});
  auto f = g.node("Flatten", {g.node("GlobalAveragePool", {c})}, {{"axis", std::int64_t(1)}});
  auto logits = g.node("Gemm", {f, g.weight("fc", {16, 5}), g.weight("fcb", {5})});
  return g.finish({g.node("Softmax", {logits}, {{"axis", softmax_axis}}, softmax_axis_name)});
}

std::string blocker_of(const Model& model) { return batch_blocker(model).value_or("<batchable>"); }

TEST(CpuBatching, SampleWiseModelsMayStackRequests) {
  EXPECT_EQ(blocker_of(small_classifier()), "<batchable>");
  EXPECT_EQ(blocker_of(core().read_model("builtin:mlp")), "<batchable>");
  EXPECT_EQ(blocker_of(core().read_model("builtin:resnet50")), "<batchable>");
  // An embedding lookup: constant table, batched indices.
  TestGraph g;
  auto ids = g.input("x", Shape{1, 4});
  auto table = g.weight("table", {10, 3});
  EXPECT_EQ(blocker_of(g.finish({g.node("Gather", {table, g.node("Abs", {ids})}, {{"axis", std::int64_t(0)}})})),
            "<batchable>");
}

TEST(CpuBatching, OpsThatMixSamplesAlongAxisZeroBlockIt) {
  EXPECT_EQ(blocker_of(small_classifier("probs", 0)), "Softmax node 'probs' normalizes over axis 0");
  {
    TestGraph g;
    auto x = g.input("x", Shape{1, 4, 3});
    g.node("Transpose", {x}, {{"perm", Ints{1, 0, 2}}}, "swap");
    EXPECT_EQ(blocker_of(g.finish({"swap"})), "Transpose node 'swap' moves axis 0");
  }
  {
    TestGraph g;
    auto x = g.input("x", Shape{1, 4});
    g.node("ReduceMean", {x}, {{"axes", Ints{0, 1}}}, "mean");
    EXPECT_EQ(blocker_of(g.finish({"mean"})), "ReduceMean node 'mean' works along axis 0");
  }
  {
    TestGraph g;
    auto x = g.input("x", Shape{1, 4});
    g.node("Concat", {x, g.node("Relu", {x})}, {{"axis", std::int64_t(0)}}, "cat");
    EXPECT_EQ(blocker_of(g.finish({"cat"})), "Concat node 'cat' works along axis 0");
  }
  {  // a Reshape with a hard-coded batch of 1 cannot take 2 samples
    const auto why = blocker_of(core().read_model("builtin:bert_tiny"));
    EXPECT_NE(why.find("the graph does not take 2 samples along dimension 0"), std::string::npos) << why;
    EXPECT_NE(why.find("Reshape"), std::string::npos) << why;
  }
  {  // broadcasting a [2,3] against a [2,2,3] is valid and puts x's samples along y's dimension 1
    TestGraph g;
    auto x = g.input("x", Shape{1, 3});
    auto y = g.input("y", Shape{1, 2, 3});
    g.node("Add", {x, y}, {}, "sum");
    EXPECT_EQ(blocker_of(g.finish({"sum"})),
              "Add node 'sum' combines inputs computed from the model inputs with different ranks (2 and 3)");
  }
  {  // flattening the batch into the features keeps the shapes valid but mixes the samples
    TestGraph g;
    auto x = g.input("x", Shape{1, 6});
    g.node("Reshape", {x, g.ints("shape", {1, -1})}, {}, "flat");
    EXPECT_EQ(blocker_of(g.finish({"flat"})),
              "Reshape node 'flat' gives 'flat' shape [1,12] for 2 samples and [1,6] for 1: dimension 0 is not "
              "the batch");
  }
}

TEST(CpuBatching, ValuesDerivedFromTheBatchSizeBlockIt) {
  {  // the exporters' Reshape(x, Concat(Shape(x)[0:1], [-1])): graph shape inference does not evaluate
     // the Concat, so what the Reshape gives cannot be checked: refused (conservative)
    TestGraph g;
    auto x = g.input("x", Shape{1, 2, 3});
    auto batch = g.node("Gather", {g.node("Shape", {x}), g.ints("first", {0})}, {{"axis", std::int64_t(0)}});
    auto shape = g.node("Concat", {batch, g.ints("rest", {-1})}, {{"axis", std::int64_t(0)}});
    EXPECT_EQ(blocker_of(g.finish({g.node("Reshape", {x, shape}, {}, "flat")})),
              "Reshape node 'flat' computes with the batch size (a value derived from a Shape)");
  }
  {  // dividing by the batch size gives a request another answer inside a batch
    TestGraph g;
    auto x = g.input("x", Shape{1, 3});
    Tensor zero(ElementType::i64, {});
    zero.data<std::int64_t>()[0] = 0;
    auto batch = g.node("Gather", {g.node("Shape", {x}), g.constant("zero", zero)}, {{"axis", std::int64_t(0)}});
    auto count = g.node("Cast", {batch}, {{"to", std::int64_t(1)}});
    g.node("Div", {x, count}, {}, "mean");
    EXPECT_EQ(blocker_of(g.finish({"mean"})), "Div node 'mean' computes with the batch size (a value derived from a Shape)");
  }
  {  // MaxPool's indices count across the whole batch
    TestGraph g;
    auto x = g.input("x", Shape{1, 1, 4, 4});
    auto outs = g.node_with_outputs("MaxPool", {x}, 2, {{"kernel_shape", Ints{2, 2}}}, "pool");
    EXPECT_EQ(blocker_of(g.finish({outs[0]})), "MaxPool node 'pool' returns indices into the whole batch");
  }
}

TEST(CpuBatching, InputsMustBeStaticWithBatchOneAndOutputsComputedFromThem) {
  {
    TestGraph g;
    auto x = g.input("x", PartialShape({Dimension::dynamic(), Dimension(4)}));
    EXPECT_EQ(blocker_of(g.finish({g.node("Relu", {x})})), "input 'x' has a dynamic shape [?,4]");
  }
  {
    TestGraph g;
    auto x = g.input("x", Shape{3, 4});
    EXPECT_EQ(blocker_of(g.finish({g.node("Relu", {x})})), "input 'x' has shape [3,4], not [1, ...]");
  }
  {
    TestGraph g;
    auto x = g.input("x", Shape{1, 4});
    auto out = g.node("Relu", {x});
    auto constant = g.node("Abs", {g.weight("k", {2})}, {}, "k_abs");
    EXPECT_EQ(blocker_of(g.finish({out, constant})), "output 'k_abs' is not computed from the inputs");
  }
  {
    TestGraph g;
    auto x = g.input("x", Shape{1, 4});
    g.node("Hardmax", {x}, {{"axis", std::int64_t(1)}}, "ok");
    g.node("Size", {x}, {}, "count");
    EXPECT_EQ(blocker_of(g.finish({"ok", "count"})), "Size node 'count' is not known to keep samples apart");
  }
}

TEST(CpuBatching, TheDeviceBatchesWithThroughputWhenActivationsStayWithinHalfTheWeights) {
  constexpr std::size_t MiB = 1 << 20;
  const std::optional<std::string> none;
  // resnet50-like: 122 MiB of weights, 5 MiB of activations per request → 8 (16 × 5 > 61).
  EXPECT_EQ(choose_batch(0, PerformanceMode::THROUGHPUT, none, 122 * MiB, 5 * MiB).batch, 8u);
  // mlp-like: capped at 32.
  EXPECT_EQ(choose_batch(0, PerformanceMode::THROUGHPUT, none, 7 * MiB, MiB / 100).batch, 32u);
  // mobilenetv2-like: 13.4 MiB weights, 5.7 MiB activations → off.
  const auto off = choose_batch(0, PerformanceMode::THROUGHPUT, none, 134 * MiB / 10, 57 * MiB / 10);
  EXPECT_EQ(off.batch, 1u);
  EXPECT_EQ(off.reason.rfind("off: weights 13.4 MiB, activations 5.70 MiB per request", 0), 0u) << off.reason;
  // Only with THROUGHPUT unless asked for; never for a blocked model; max_batch_size=1 turns it off.
  EXPECT_EQ(choose_batch(0, PerformanceMode::LATENCY, none, 122 * MiB, 5 * MiB).batch, 1u);
  EXPECT_EQ(choose_batch(4, PerformanceMode::LATENCY, none, 122 * MiB, 5 * MiB).batch, 4u);
  EXPECT_EQ(choose_batch(1, PerformanceMode::THROUGHPUT, none, 122 * MiB, 5 * MiB).reason, "off: max_batch_size=1");
  const auto blocked = choose_batch(4, PerformanceMode::THROUGHPUT, std::string("Softmax node 'p' normalizes over axis 0"),
                                    122 * MiB, 5 * MiB);
  EXPECT_EQ(blocked.batch, 1u);
  EXPECT_EQ(blocked.reason, "off: Softmax node 'p' normalizes over axis 0");
}

// Sync requests of `compiled` with their own inputs and outputs, as the core's async requests hold them.
struct Requests {
  std::vector<std::unique_ptr<plugin::ISyncInferRequest>> sync;
  std::vector<std::vector<Tensor>> inputs, outputs;
  std::vector<plugin::BatchItem> items() {
    std::vector<plugin::BatchItem> out;
    for (std::size_t i = 0; i < sync.size(); ++i) out.push_back({sync[i].get(), &inputs[i], &outputs[i], nullptr});
    return out;
  }
};

Requests make_requests(cpu::CpuCompiledModel& compiled, std::size_t count) {
  Requests r;
  for (std::size_t i = 0; i < count; ++i) {
    r.sync.push_back(compiled.create_sync_request());
    r.inputs.push_back({random_tensor(compiled.model().inputs()[0].shape.to_shape(), std::uint32_t(100 + i))});
    r.outputs.push_back({Tensor(ElementType::f32, {1, 5})});
  }
  return r;
}

std::shared_ptr<cpu::CpuCompiledModel> compile_cpu(const Model& model, std::int64_t max_batch_size) {
  cpu::CpuConfig config;
  config.mode = PerformanceMode::THROUGHPUT;
  config.plan.streams = {{1, {}}, {1, {}}};
  config.plan.pinned = false;
  config.max_batch_size = max_batch_size;
  auto compiled = std::make_shared<cpu::CpuCompiledModel>(model, config);
  (void)compiled->get_property("batching");  // answers once the batch programs are built
  return compiled;
}

TEST(CpuBatching, AStackedInferenceGivesEveryRequestWhatItGetsAlone) {
  const Model model = small_classifier();
  auto compiled = compile_cpu(model, 3);
  ASSERT_EQ(compiled->max_batch(), 3u);
  EXPECT_EQ(compiled->get_property("batching"), "batch 3: max_batch_size");
  EXPECT_EQ(compiled->get_property("optimal_number_of_infer_requests"), "6");
  // Stacked programs for 3 and 2 besides the requests' own: 7 requests run as 3 + 3 + 1.
  EXPECT_EQ(compiled->get_property("cpu_program_cache"), "size=3 builds=3 capacity=8");
  Requests batched = make_requests(*compiled, 7);
  auto items = batched.items();
  compiled->infer_batch(0, items);
  EXPECT_EQ(compiled->get_property("cpu_batches"), "runs=2 requests=6");

  auto ref = core().compile_model(model, "REF");
  auto ref_request = ref.create_infer_request();
  Requests alone = make_requests(*compiled, 7);  // same seeds, so the same inputs
  for (std::size_t i = 0; i < items.size(); ++i) {
    ASSERT_FALSE(items[i].error) << "request " << i;
    alone.sync[i]->infer(alone.inputs[i], alone.outputs[i]);
    expect_close(alone.outputs[i][0], batched.outputs[i][0], 1e-5, 1e-6, "request " + std::to_string(i) + " vs alone");
    ref_request.set_input_tensor(0, alone.inputs[i][0]);
    ref_request.infer();
    expect_close(ref_request.get_output_tensor(0), batched.outputs[i][0], 1e-4, 1e-5,
                 "request " + std::to_string(i) + " vs REF");
  }
}

TEST(CpuBatching, EveryInputIsStackedAndEveryOutputSliced) {
  TestGraph g;
  auto x = g.input("x", Shape{1, 1, 3});
  auto y = g.input("y", Shape{1, 2, 3});
  auto sum = g.node("Add", {x, y}, {}, "sum");                         // [1,2,3]
  auto scaled = g.node("Mul", {x, g.weight("k", {3})}, {}, "scaled");  // [1,1,3]
  auto compiled = compile_cpu(g.finish({sum, scaled}), 4);
  ASSERT_EQ(compiled->max_batch(), 4u);
  const std::size_t count = 5;  // 4 + 1
  std::vector<std::unique_ptr<plugin::ISyncInferRequest>> sync;
  std::vector<std::vector<Tensor>> inputs, outputs, alone;
  std::vector<plugin::BatchItem> items;
  for (std::size_t i = 0; i < count; ++i) {
    sync.push_back(compiled->create_sync_request());
    inputs.push_back({random_tensor({1, 1, 3}, std::uint32_t(2 * i)), random_tensor({1, 2, 3}, std::uint32_t(2 * i + 1))});
    outputs.push_back({Tensor(ElementType::f32, {1, 2, 3}), Tensor(ElementType::f32, {1, 1, 3})});
  }
  for (std::size_t i = 0; i < count; ++i) items.push_back({sync[i].get(), &inputs[i], &outputs[i], nullptr});
  compiled->infer_batch(1, items);
  EXPECT_EQ(compiled->get_property("cpu_batches"), "runs=1 requests=4");
  for (std::size_t i = 0; i < count; ++i) {
    ASSERT_FALSE(items[i].error) << "request " << i;
    std::vector<Tensor> expected;
    sync[i]->infer(inputs[i], expected);
    for (std::size_t k = 0; k < 2; ++k)
      expect_close(expected[k], outputs[i][k], 0, 0, "request " + std::to_string(i) + " output " + std::to_string(k));
  }
}

TEST(CpuBatching, StackedProgramsShareTheWeightsOfTheRequestsProgram) {
  const Model model = small_classifier();
  auto single = compile_cpu(model, 1);
  auto batched = compile_cpu(model, 4);
  EXPECT_EQ(single->get_property("cpu_program_cache"), "size=1 builds=1 capacity=8");
  EXPECT_EQ(batched->get_property("cpu_program_cache"), "size=3 builds=3 capacity=8");  // 4, 2 and 1
  EXPECT_EQ(batched->get_property("weights_bytes"), single->get_property("weights_bytes"));
}

TEST(CpuBatching, ThroughputRequestsThroughTheCoreRunStackedAndGetTheirOwnResults) {
  const Model model = core().read_model("builtin:mlp");
  auto compiled = core().compile_model(model, "CPU", {hint::performance_mode(PerformanceMode::THROUGHPUT)});
  auto alone = core().compile_model(model, "CPU", {hint::performance_mode(PerformanceMode::THROUGHPUT), max_batch_size(1)});
  EXPECT_EQ(compiled.get_property(max_batch_size), 32);
  EXPECT_EQ(alone.get_property(max_batch_size), 1);
  const auto streams = compiled.get_property(num_streams);
  EXPECT_EQ(compiled.get_property(optimal_number_of_infer_requests), streams * 32);
  // Built after compile_model returned; reading "batching" waits for them (until then requests run alone).
  EXPECT_EQ(compiled.get_property("batching").rfind("batch 32: ", 0), 0u) << compiled.get_property("batching");

  const std::size_t count = std::size_t(streams * 32);
  std::vector<InferRequest> requests;
  std::vector<Tensor> inputs;
  std::atomic<int> completions{0};
  for (std::size_t i = 0; i < count; ++i) {
    requests.push_back(compiled.create_infer_request());
    inputs.push_back(random_tensor(model.inputs()[0].shape.to_shape(), std::uint32_t(i)));
    requests.back().set_input_tensor(0, inputs.back());
    requests.back().set_callback([&](std::exception_ptr) { completions++; });
  }
  for (auto& r : requests) r.start_async();
  for (auto& r : requests) r.wait();
  EXPECT_EQ(completions.load(), int(count));
  auto check = alone.create_infer_request();
  for (std::size_t i = 0; i < count; ++i) {
    check.set_input_tensor(0, inputs[i]);
    check.infer();
    expect_close(check.get_output_tensor(0), requests[i].get_output_tensor(0), 1e-5, 1e-6,
                 "request " + std::to_string(i));
  }
  // Started together, requests queue behind the first ones: some ran stacked.
  const auto batches = compiled.get_property("cpu_batches");
  EXPECT_EQ(batches.find("runs=0 "), std::string::npos) << batches;
}

// AUTO keeps as many requests on a batching device as it can stack (streams x batch), not one per
// stream: otherwise its batches never fill.
TEST(CpuBatching, AutoGivesABatchingCpuASlotPerStackedRequest) {
  struct ReadyEvents : Observer {
    std::mutex mutex;
    std::vector<std::string> ready;
    void on_device(const DeviceEvent& event) override {
      std::lock_guard lock(mutex);
      if (event.kind == DeviceEventKind::ready) ready.push_back(event.device + " " + event.detail);
    }
  };
  auto events = std::make_shared<ReadyEvents>();
  auto registration = add_observer(events);
  auto compiled = core().compile_model("builtin:mlp", "AUTO:CPU", {hint::performance_mode(PerformanceMode::THROUGHPUT)});
  auto request = compiled.create_infer_request();
  request.infer();  // the CPU is ready once a request ran on it
  auto cpu = core().compile_model("builtin:mlp", "CPU", {hint::performance_mode(PerformanceMode::THROUGHPUT)});
  const auto slots = cpu.get_property(num_streams) * cpu.get_property(max_batch_size);
  std::lock_guard lock(events->mutex);
  ASSERT_EQ(events->ready.size(), 1u);
  EXPECT_EQ(events->ready[0], "CPU slots=" + std::to_string(slots));
  EXPECT_EQ(compiled.get_property(optimal_number_of_infer_requests), slots);
}

}  // namespace
}  // namespace autosched::test

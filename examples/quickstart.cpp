#include <autosched/autosched.hpp>

#include <cstdio>

int main() {
  autosched::Core core;
  autosched::Model model = core.read_model("builtin:mlp");
  autosched::CompiledModel compiled = core.compile_model(
      model, "AUTO", {autosched::hint::performance_mode(autosched::PerformanceMode::THROUGHPUT)});

  autosched::InferRequest request = compiled.create_infer_request();
  autosched::Tensor input = request.get_input_tensor();  // write the input in place
  for (std::size_t i = 0; i < input.size(); ++i) input.data<float>()[i] = float(i % 7) / 7.0f;

  request.set_callback([](std::exception_ptr error) {
    if (error) std::puts("inference failed");
  });
  request.start_async();
  request.wait();  // rethrows a failure as autosched::Error

  const float* probabilities = request.get_output_tensor().data<float>();
  float sum = 0;
  for (int k = 0; k < 10; ++k) sum += probabilities[k];
  std::printf("ran on %s, %lld requests optimal, probabilities sum to %.3f\n",
              compiled.get_property("execution_devices").c_str(),
              static_cast<long long>(compiled.get_property(autosched::optimal_number_of_infer_requests)), sum);
  return sum > 0.99f && sum < 1.01f ? 0 : 1;
}

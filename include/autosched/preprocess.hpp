#pragma once
// Preprocessing compiled into the model. A Preprocessor describes, per model
// input, what the application's tensor looks like (element type, layout,
// spatial size) and what turns it into what the model expects (mean/scale
// per channel, resize); build() returns a NEW Model whose graph starts with
// these steps as ordinary graph ops (Cast, Transpose, Resize, Sub, Div), so
// every device runs them. The input keeps its name; only its type/shape change.
//
//   autosched::Preprocessor pp(model);
//   pp.input("input")
//       .tensor(autosched::ElementType::u8, "NHWC", {480, 640})
//       .mean({123.675f, 116.28f, 103.53f})
//       .scale({58.395f, 57.12f, 57.375f})
//       .resize(autosched::ResizeAlgorithm::linear);
//   autosched::Model m2 = pp.build();   // input "input": u8 [1,480,640,3]
//
// Steps run in this order: element type -> f32, layout -> the model's layout,
// resize to the model's spatial size, (x - mean[c]) / scale[c], then a cast to
// the model input's element type when that is not f32.
// A Preprocessor is a plain builder: not thread-safe; the model it was given
// is never modified.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "autosched/element_type.hpp"
#include "autosched/model.hpp"

namespace autosched {

// Interpolation of a preprocessing resize (ONNX Resize, half_pixel coordinates).
enum class ResizeAlgorithm { linear, nearest, cubic };

// Height and width of the application's tensor; -1 leaves a dim unfixed:
// with resize() it is given per request, without it it is the model's.
struct SpatialSize {
  std::int64_t height = -1;
  std::int64_t width = -1;
};

// The preprocessing of one model input. Setters record; Preprocessor::build
// validates the combination and throws Error(invalid_argument) naming the
// input, the setting and what would be valid.
class InputPreprocess {
 public:
  // The application's tensor: element type (u8, f16, f32, ...), layout as one
  // letter per dim ("NHWC", "NCHW"; "" = the model's layout) and spatial size.
  InputPreprocess& tensor(ElementType type, std::string layout = {}, SpatialSize spatial = {});
  // The layout of the model input (default "NCHW" for rank 4).
  InputPreprocess& model_layout(std::string layout);
  // Subtracted per channel (one value per channel of the model input, or one for all).
  InputPreprocess& mean(std::vector<float> values);
  // Divided per channel after the mean (one value per channel, or one for all; non-zero).
  InputPreprocess& scale(std::vector<float> values);
  // Resizes the application's spatial size to the model's (which must be static).
  InputPreprocess& resize(ResizeAlgorithm algorithm = ResizeAlgorithm::linear);

  // What was recorded (for build() and for inspection).
  struct Settings {
    bool type_set = false;
    ElementType type = ElementType::f32;
    std::string layout, model_layout;
    SpatialSize spatial;
    std::vector<float> mean, scale;
    bool resize = false;
    ResizeAlgorithm algorithm = ResizeAlgorithm::linear;
  };
  const Settings& settings() const noexcept { return settings_; }

 private:
  Settings settings_;
};

class Preprocessor {
 public:
  // Throws Error(invalid_argument) for an empty model.
  explicit Preprocessor(Model model);
  // The preprocessing of input `name` (created on first use; the reference
  // stays valid for the Preprocessor's lifetime). Throws Error(not_found)
  // naming the model's inputs when there is no such input.
  InputPreprocess& input(const std::string& name);
  // The only input; Error(invalid_argument) when the model has several.
  InputPreprocess& input();
  // A new model with the recorded steps in front of their inputs. Throws
  // Error(invalid_argument) naming the input and setting that cannot work.
  Model build() const;

 private:
  Model model_;
  std::map<std::string, InputPreprocess> inputs_;
};

}  // namespace autosched

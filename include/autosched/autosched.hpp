#pragma once
// Everything an application needs.
#include "autosched/compiled_model.hpp"
#include "autosched/core.hpp"
#include "autosched/element_type.hpp"
#include "autosched/error.hpp"
#include "autosched/infer_request.hpp"
#include "autosched/model.hpp"
#include "autosched/observer.hpp"
#include "autosched/preprocess.hpp"
#include "autosched/properties.hpp"
#include "autosched/shape.hpp"
#include "autosched/tensor.hpp"
#include "autosched/version.hpp"

#pragma once
// What the CPU's instruction set allows: the effective oneDNN ISA by name and
// which inference precisions it can run fast. Free of oneDNN types so tests
// and tools can use it.
#include <string>

#include "autosched/element_type.hpp"

namespace autosched::cpu {

// The ISA oneDNN dispatches to on this machine, e.g. "avx512_core_bf16".
std::string effective_isa();
// True when `isa` (a name as above) has native bf16 dot products (AVX512-BF16 or AMX).
bool has_bf16(const std::string& isa);
// Throws Error(unsupported) naming the precision, the ISA and the allowed
// precisions when `precision` cannot run on `isa` (f32 always can).
void check_precision(ElementType precision, const std::string& isa);

}  // namespace autosched::cpu

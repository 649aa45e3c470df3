#include "devices/cpu/cpu_isa.hpp"

#include <oneapi/dnnl/dnnl.hpp>

#include "autosched/error.hpp"

namespace autosched::cpu {

std::string effective_isa() {
  using I = dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case I::sse41: return "sse41";
    case I::avx: return "avx";
    case I::avx2: return "avx2";
    case I::avx2_vnni: return "avx2_vnni";
    case I::avx512_mic: return "avx512_mic";
    case I::avx512_mic_4ops: return "avx512_mic_4ops";
    case I::avx512_core: return "avx512_core";
    case I::avx512_core_vnni: return "avx512_core_vnni";
    case I::avx512_core_bf16: return "avx512_core_bf16";
    case I::avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
  }
}

bool has_bf16(const std::string& isa) { return isa == "avx512_core_bf16" || isa == "avx512_core_amx"; }

void check_precision(ElementType precision, const std::string& isa) {
  if (precision == ElementType::f32) return;
  if (precision == ElementType::bf16 && has_bf16(isa)) return;
  const std::string allowed = has_bf16(isa) ? "f32, bf16" : "f32";
  throw Error(ErrorCode::unsupported, std::string("CPU: inference_precision '") + autosched::to_string(precision) +
                                          "' is not supported on this CPU (effective ISA " + isa +
                                          (precision == ElementType::bf16 ? ", which lacks AVX512-BF16/AMX" : "") +
                                          "); allowed: " + allowed);
}

}  // namespace autosched::cpu

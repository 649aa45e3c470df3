# AUTOSCHED_SANITIZE=<list> (e.g. "address,undefined" or "thread"): builds
# the library's own runtime code — core/, scheduler/, policies/, devices/sim/,
# devices/reference/ (the device, not the kernels) and the top of model/
# (ONNX reader, graph, executor) — with that sanitizer, and links every
# binary with its runtime. The reference kernels, the CPU/OpenCL devices,
# the zoo and the test sources keep the plain Release flags: they are the
# bulk of the compile time, they share ccache entries with the ordinary
# build, and (for TSan) oneDNN/libgomp and TBB would only add false reports.
# See CMakePresets.json (asan-ubsan, tsan) and scripts/sanitizers.sh.
set(AUTOSCHED_SANITIZE "" CACHE STRING "Sanitizers for the runtime sources: address,undefined | thread | empty")
if(AUTOSCHED_SANITIZE)
  file(GLOB AUTOSCHED_SANITIZED_SOURCES CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/core/*.cpp
    ${PROJECT_SOURCE_DIR}/scheduler/*.cpp
    ${PROJECT_SOURCE_DIR}/policies/*.cpp
    ${PROJECT_SOURCE_DIR}/devices/sim/*.cpp
    ${PROJECT_SOURCE_DIR}/devices/reference/*.cpp
    ${PROJECT_SOURCE_DIR}/model/*.cpp)
  set(AUTOSCHED_SANITIZE_FLAGS -fsanitize=${AUTOSCHED_SANITIZE} -fno-omit-frame-pointer -g1)
  if(AUTOSCHED_SANITIZE MATCHES "undefined")
    list(APPEND AUTOSCHED_SANITIZE_FLAGS -fno-sanitize-recover=undefined)
  endif()
  set_source_files_properties(${AUTOSCHED_SANITIZED_SOURCES} DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES COMPILE_OPTIONS "${AUTOSCHED_SANITIZE_FLAGS}")
  # Every binary (and the library) links the sanitizer runtime.
  target_link_options(autosched PRIVATE -fsanitize=${AUTOSCHED_SANITIZE})
  add_link_options(-fsanitize=${AUTOSCHED_SANITIZE})
endif()

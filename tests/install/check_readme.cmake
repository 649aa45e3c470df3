# Fails unless README.md contains examples/quickstart.cpp verbatim in a ```cpp block.
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${readme}" "```cpp\n${example}```" position)
if(position EQUAL -1)
  message(FATAL_ERROR "README.md does not contain examples/quickstart.cpp verbatim; copy it into the API example block")
endif()

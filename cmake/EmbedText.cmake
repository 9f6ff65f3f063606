# cmake -DINPUT=<file> -DOUTPUT=<file.cpp> -DSYMBOL=<name> -DNAMESPACE=<ns> -P EmbedText.cmake
# Writes a C++ source defining `const char *const <ns>::<SYMBOL>` with the
# file's contents.
file(READ "${INPUT}" content)
string(FIND "${content}" ")coe_embedded\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/EmbedText.cmake; do not edit.\n"
  "namespace ${NAMESPACE} {\nextern const char *const ${SYMBOL};\n"
  "const char *const ${SYMBOL} = R\"coe_embedded(${content})coe_embedded\";\n}\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")

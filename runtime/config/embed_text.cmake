# cmake -DINPUT=<file> -DOUTPUT=<file.cc> -DSYMBOL=<name> -P embed_text.cmake
# Writes a C++ source defining `std::string_view zb::runtime::<SYMBOL>()` returning the file's
# text, as a raw string literal (the delimiter is checked not to occur in the text).
file(READ ${INPUT} text)
set(delimiter "zb_embed")
string(FIND "${text}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter")
endif()
file(WRITE ${OUTPUT}.tmp
  "// Generated from ${INPUT} by embed_text.cmake. Do not edit.\n"
  "#include <string_view>\n\n"
  "namespace zb::runtime {\n\n"
  "std::string_view ${SYMBOL}() {\n"
  "  static constexpr std::string_view kText = R\"${delimiter}(${text})${delimiter}\";\n"
  "  return kText;\n"
  "}\n\n"
  "}  // namespace zb::runtime\n")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)

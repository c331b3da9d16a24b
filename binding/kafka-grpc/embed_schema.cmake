# cmake -DINPUT=<schema.json> -DOUTPUT=<file.cc> -P embed_schema.cmake
# Writes a C++ source defining zb::kafka_grpc::kConfigSchema as the schema's text.
file(READ ${INPUT} schema)
file(WRITE ${OUTPUT}.tmp
  "// Generated from ${INPUT}; do not edit.\n"
  "namespace zb::kafka_grpc {\n"
  "extern const char* const kConfigSchema;\n"
  "const char* const kConfigSchema = R\"zbschema(${schema})zbschema\";\n"
  "}  // namespace zb::kafka_grpc\n")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)

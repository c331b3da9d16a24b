#include "config_check.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace zb::host {

CheckedConfig checkConfigText(const std::string& text, BindingPlugins& plugins) {
  CheckedConfig checked;
  if (!zb::runtime::loadYaml(text, zb::runtime::processEnv, checked.document, checked.problems)) {
    return checked;
  }
  std::string error;
  const std::unique_ptr<zb::runtime::SchemaValidator> root =
      zb::runtime::SchemaValidator::compile(zb::runtime::zillaRootSchema(), error);
  if (!root) {
    checked.schema_unusable = true;
    checked.problems.push_back({"", "the built-in root schema is unusable: " + error});
    return checked;
  }
  checked.problems = zb::runtime::validateZillaConfig(
      checked.document, *root, [&plugins](std::string_view type, std::string& message) {
        return plugins.schemaFor(type, message);
      });
  if (checked.problems.empty()) {
    checked.config = zb::runtime::readZillaConfig(checked.document);
  }
  return checked;
}

bool readConfigFile(const std::string& path, std::string& text, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  text = buffer.str();
  return true;
}

}  // namespace zb::host

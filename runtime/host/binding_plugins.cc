#include "binding_plugins.h"

#include <zb/runtime/engine.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

namespace zb::host {

namespace {

// Type names come from the config; only these characters keep the file inside the directory.
bool isTypeName(std::string_view type) {
  return !type.empty() && std::all_of(type.begin(), type.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool worldWritable(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && (info.st_mode & S_IWOTH) != 0 &&
         !(S_ISDIR(info.st_mode) && (info.st_mode & S_ISVTX) != 0);
}

}  // namespace

BindingPlugins::BindingPlugins(std::vector<std::string> directories)
    : directories_(std::move(directories)) {}

const zb::runtime::SchemaValidator* BindingPlugins::schemaFor(std::string_view type,
                                                              std::string& message) {
  auto found = types_.find(type);
  if (found == types_.end()) {
    Type entry;
    const std::string name(type);
    const std::string file = "libbinding-" + name + ".so";
    const std::string path = isTypeName(name) ? zb::runtime::Plugin::find(directories_, name) : "";
    if (!isTypeName(name)) {
      entry.message = "\"" + name + "\" is not a binding type name";
    } else if (path.empty()) {
      std::string looked;
      for (const std::string& dir : directories_) {
        looked += (looked.empty() ? "" : ", ") + dir;
      }
      entry.message = "no plugin for type \"" + name + "\" (looked for " + file +
                      " in: " + (looked.empty() ? "no directories" : looked) + ")";
    } else {
      const std::string dir = std::filesystem::path(path).parent_path().string();
      for (const std::string& checked : {dir, path}) {
        if (worldWritable(checked)) {
          warnings_.push_back(checked + " is writable by every user: anyone could replace the " +
                              name + " binding");
        }
      }
      std::string error;
      std::unique_ptr<zb::runtime::Plugin> plugin =
          zb::runtime::Plugin::load(path, zb::runtime::Engine::hostApi(), error);
      if (!plugin) {
        entry.message = "plugin for type \"" + name + "\" cannot be loaded: " + error;
        load_failed_ = true;
      } else if (plugin->api()->type_name == nullptr || name != plugin->api()->type_name) {
        entry.message = path + " implements type \"" +
                        std::string(plugin->api()->type_name ? plugin->api()->type_name : "") +
                        "\", not \"" + name + "\"";
        load_failed_ = true;
      } else {
        std::string schema_error;
        entry.schema =
            zb::runtime::SchemaValidator::compile(plugin->api()->config_schema_json, schema_error);
        if (!entry.schema) {
          entry.message = path + " publishes an unusable config schema: " + schema_error;
          load_failed_ = true;
        } else {
          entry.plugin = std::move(plugin);
        }
      }
    }
    found = types_.emplace(name, std::move(entry)).first;
  }
  if (!found->second.schema) {
    message = found->second.message;
    return nullptr;
  }
  return found->second.schema.get();
}

std::shared_ptr<zb::runtime::Plugin> BindingPlugins::plugin(std::string_view type) const {
  const auto found = types_.find(type);
  return found != types_.end() && found->second.schema ? found->second.plugin : nullptr;
}

}  // namespace zb::host

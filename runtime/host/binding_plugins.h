// The binding types zilla.yaml uses, loaded on first use from the configured plugin directories
// only, with each type's compiled config schema.
#pragma once

#include <zb/runtime/config.h>
#include <zb/runtime/plugin.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace zb::host {

class BindingPlugins {
 public:
  explicit BindingPlugins(std::vector<std::string> directories);

  // The compiled schema of `type`, loading "libbinding-<type>.so" from the first directory that
  // has it; nullptr with `message` when there is none (`no plugin for type "x" (looked for
  // libbinding-x.so in: ...)`) or it cannot be used (load failure, wrong type, bad schema).
  // Thread: control.
  const zb::runtime::SchemaValidator* schemaFor(std::string_view type, std::string& message);

  // The loaded plugin of a type schemaFor() accepted, else nullptr.
  std::shared_ptr<zb::runtime::Plugin> plugin(std::string_view type) const;

  // True when some plugin file was found but could not be used (exit code 3).
  bool loadFailed() const { return load_failed_; }
  // Things worth a warning, e.g. a world-writable plugin directory or file.
  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::vector<std::string>& directories() const { return directories_; }

 private:
  struct Type {
    std::shared_ptr<zb::runtime::Plugin> plugin;
    std::unique_ptr<zb::runtime::SchemaValidator> schema;
    std::string message;  // why there is no schema
  };

  std::vector<std::string> directories_;
  std::map<std::string, Type, std::less<>> types_;
  std::vector<std::string> warnings_;
  bool load_failed_ = false;
};

}  // namespace zb::host

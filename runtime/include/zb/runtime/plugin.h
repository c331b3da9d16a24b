// Loading binding shared objects: dlopen(RTLD_NOW | RTLD_LOCAL), look up the one init symbol,
// hand it the host's call table, check the versions of the table it returns.
//
// Threading: the control thread (the one that builds the engine).
#pragma once

#include <zb/abi.h>

#include <memory>
#include <string>
#include <vector>

namespace zb::runtime {

// A loaded binding .so; dlclose()s on destruction (after on_unload).
class Plugin {
 public:
  ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  // Loads `path`. On failure returns nullptr and sets `error` to a message naming the file and
  // the reason: dlopen's error, a missing init symbol, the init's refusal with its reason, or
  // another ABI major (naming both versions).
  static std::unique_ptr<Plugin> load(const std::string& path, const zb_host_api_t* host,
                                      std::string& error);

  // Finds "<dir>/libbinding-<type>.so" in the first of `dirs` that has it; "" if none.
  static std::string find(const std::vector<std::string>& dirs, const std::string& type);

  // The binding's hooks, copied up to its struct_size (later hooks are NULL).
  const zb_binding_api_t* api() const { return api_; }
  const std::string& path() const { return path_; }
  // The binding's ABI version, e.g. "1.0".
  std::string version() const;

 private:
  Plugin() = default;
  void* handle_ = nullptr;
  const zb_binding_api_t* api_ = nullptr;  // points at table_
  zb_binding_api_t table_;
  std::string path_;
};

}  // namespace zb::runtime

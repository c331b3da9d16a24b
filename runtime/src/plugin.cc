#include <zb/runtime/plugin.h>

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace zb::runtime {

namespace {

std::string versionText(unsigned major, unsigned minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// The hooks a binding cannot do without, by name, with the offset of their end in the table.
struct RequiredHook {
  const char* name;
  size_t end;
  bool (*present)(const zb_binding_api_t&);
};

#define ZB_REQUIRED(field)                                                       \
  RequiredHook {                                                                 \
#field, offsetof(zb_binding_api_t, field) + sizeof(zb_binding_api_t::field), \
        [](const zb_binding_api_t& api) { return api.field != nullptr; }         \
  }

const RequiredHook kRequiredHooks[] = {
    ZB_REQUIRED(type_name),          ZB_REQUIRED(config_schema_json), ZB_REQUIRED(on_binding_new),
    ZB_REQUIRED(on_binding_destroy), ZB_REQUIRED(on_stream_new),      ZB_REQUIRED(on_frame),
    ZB_REQUIRED(on_stream_release),
};

#undef ZB_REQUIRED

}  // namespace

Plugin::~Plugin() {
  if (api_ != nullptr && api_->on_unload != nullptr) {
    api_->on_unload();
  }
#if !defined(__SANITIZE_ADDRESS__)
  // Under AddressSanitizer the .so stays mapped, so that leak reports can name its functions.
  if (handle_ != nullptr) {
    dlclose(handle_);
  }
#endif
}

std::unique_ptr<Plugin> Plugin::load(const std::string& path, const zb_host_api_t* host,
                                     std::string& error) {
  // RTLD_NOW: unresolved symbols fail here, not at the first call; RTLD_LOCAL: bindings do not
  // see each other's symbols.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = dlerror();
    error = path + ": cannot load: " + (reason != nullptr ? reason : "unknown dlopen error");
    return nullptr;
  }
  std::unique_ptr<Plugin> plugin(new Plugin());
  plugin->handle_ = handle;
  plugin->path_ = path;

  dlerror();
  void* symbol = dlsym(handle, ZB_BINDING_INIT_SYMBOL);
  if (symbol == nullptr) {
    error = path + ": not a binding: it does not export " ZB_BINDING_INIT_SYMBOL;
    return nullptr;
  }
  zb_binding_init_fn init;
  static_assert(sizeof init == sizeof symbol);
  std::memcpy(&init, &symbol, sizeof init);

  char reason[512] = {0};
  const zb_binding_api_t* api = init(host, reason, sizeof reason);
  if (api == nullptr) {
    reason[sizeof reason - 1] = '\0';
    error =
        path + ": the binding refused to load: " + (reason[0] != '\0' ? reason : "no reason given");
    return nullptr;
  }
  const std::string host_version = versionText(ZB_ABI_MAJOR, ZB_ABI_MINOR);
  const std::string binding_version = versionText(api->abi_major, api->abi_minor);
  if (api->abi_major != ZB_ABI_MAJOR) {
    error = path + ": binding ABI " + binding_version +
            " has another major version than this host's ABI " + host_version;
    return nullptr;
  }
  if (api->abi_minor > ZB_ABI_MINOR) {
    error = path + ": binding ABI " + binding_version + " is newer than this host's ABI " +
            host_version + "; use a newer host";
    return nullptr;
  }
  for (const RequiredHook& hook : kRequiredHooks) {
    if (api->struct_size < hook.end || !hook.present(*api)) {
      error =
          path + ": binding table (ABI " + binding_version + ") lacks the required " + hook.name;
      return nullptr;
    }
  }
  // Never read past the binding's struct_size: hooks appended after its minor stay NULL.
  std::memset(&plugin->table_, 0, sizeof plugin->table_);
  std::memcpy(&plugin->table_, api, std::min<size_t>(api->struct_size, sizeof plugin->table_));
  plugin->api_ = &plugin->table_;
  return plugin;
}

std::string Plugin::find(const std::vector<std::string>& dirs, const std::string& type) {
  const std::string file = "libbinding-" + type + ".so";
  for (const std::string& dir : dirs) {
    const std::string path = dir + "/" + file;
    struct stat info;
    if (stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
      return path;
    }
  }
  return "";
}

std::string Plugin::version() const {
  return api_ != nullptr ? versionText(api_->abi_major, api_->abi_minor) : "";
}

}  // namespace zb::runtime

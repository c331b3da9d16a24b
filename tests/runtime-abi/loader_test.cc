// The loader's answer to each way a plugin can be wrong, and to a good one.
#include <zb/runtime/engine.h>
#include <zb/runtime/plugin.h>

#include <doctest/doctest.h>

#include <string>

using zb::runtime::Engine;
using zb::runtime::Plugin;

namespace {

std::string testPlugin(const char* name) {
  return std::string(ZB_TEST_PLUGIN_DIR) + "/libtest-plugin-" + name + ".so";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a binding of another ABI major is refused, naming both versions") {
  std::string error;
  auto plugin = Plugin::load(testPlugin("wrong_major"), Engine::hostApi(), error);
  CHECK(plugin == nullptr);
  CHECK(contains(error, "libtest-plugin-wrong_major.so"));
  CHECK(contains(error, "binding ABI 2.0"));
  CHECK(contains(error, "host's ABI 1.0"));
}

TEST_CASE("a binding of a newer minor is refused") {
  std::string error;
  auto plugin = Plugin::load(testPlugin("newer_minor"), Engine::hostApi(), error);
  CHECK(plugin == nullptr);
  CHECK(contains(error, "binding ABI 1.1 is newer than this host's ABI 1.0"));
}

TEST_CASE("a binding of an older minor loads, and hooks past its table are not read") {
  std::string error;
  auto plugin = Plugin::load(testPlugin("older_minor"), Engine::hostApi(), error);
  REQUIRE_MESSAGE(plugin != nullptr, error);
  CHECK(std::string(plugin->api()->type_name) == "older-minor");
  CHECK((plugin->api()->on_signal == nullptr));
  CHECK((plugin->api()->on_unload == nullptr));  // the raw table holds garbage there
  plugin.reset();                                // would crash if on_unload were called
}

TEST_CASE("a shared object without the init symbol is refused") {
  std::string error;
  auto plugin = Plugin::load(testPlugin("missing_symbol"), Engine::hostApi(), error);
  CHECK(plugin == nullptr);
  CHECK(contains(error, "libtest-plugin-missing_symbol.so: not a binding"));
  CHECK(contains(error, "zb_binding_init"));
}

TEST_CASE("an init that refuses is reported with its reason") {
  std::string error;
  auto plugin = Plugin::load(testPlugin("init_refuses"), Engine::hostApi(), error);
  CHECK(plugin == nullptr);
  CHECK(contains(error, "refused to load: license file /etc/zb/license not found"));
}

TEST_CASE("a table without a required hook is refused, naming the hook") {
  std::string error;
  auto plugin = Plugin::load(testPlugin("missing_hook"), Engine::hostApi(), error);
  CHECK(plugin == nullptr);
  CHECK(contains(error, "lacks the required on_frame"));
}

TEST_CASE("a missing file is refused with dlopen's reason") {
  std::string error;
  auto plugin = Plugin::load(testPlugin("does_not_exist"), Engine::hostApi(), error);
  CHECK(plugin == nullptr);
  CHECK(contains(error, "does_not_exist.so: cannot load"));
}

TEST_CASE("plugins are found by type only in the given directories") {
  CHECK(Plugin::find({"/nonexistent", ZB_BINDINGS_DIR}, "echo") ==
        std::string(ZB_BINDINGS_DIR) + "/libbinding-echo.so");
  CHECK(Plugin::find({"/nonexistent"}, "echo").empty());
}

// What a reload renews: planReload compares the running config with the new one binding by
// binding, and renews what changed and whatever names something renewed.
#include "config_reload.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using zb::host::planReload;
using zb::host::ReloadPlan;
using zb::runtime::BindingEntry;
using zb::runtime::ZillaConfig;

namespace {

using Names = std::vector<std::string>;

BindingEntry entry(const std::string& name, const std::string& type, const std::string& options,
                   const std::string& entry_name = "", const std::string& routes = "[]") {
  BindingEntry binding;
  binding.name = name;
  binding.type = type;
  binding.kind = type == "kafka-grpc" ? "remote_server" : "client";
  binding.entry = entry_name;
  binding.options_json = options;
  binding.routes_json = routes;
  binding.binding_json = "{\"type\":\"" + type + "\",\"options\":" + options + ",\"entry\":\"" +
                         entry_name + "\",\"routes\":" + routes + "}";
  return binding;
}

// kafka_client0 <- kafka_grpc0 -> grpc_client0 (through its route's exit).
ZillaConfig chain(const std::string& kafka = "{}", const std::string& bridge = "{}",
                  const std::string& grpc = "{}") {
  ZillaConfig config;
  config.namespace_name = "test";
  config.bindings = {entry("kafka_client0", "kafka", kafka),
                     entry("kafka_grpc0", "kafka-grpc", bridge, "kafka_client0",
                           R"([{"exit":"grpc_client0","when":[{"topic":"requests"}]}])"),
                     entry("grpc_client0", "grpc", grpc)};
  return config;
}

Names freshNames(const ReloadPlan& plan) {
  Names names;
  for (const auto& declaration : plan.fresh) {
    names.push_back(declaration.name);
  }
  return names;
}

}  // namespace

TEST_CASE("the same config renews nothing") {
  const ReloadPlan plan = planReload(chain(), chain());
  CHECK_FALSE(plan.changesBindings());
  CHECK(plan.kept == Names{"kafka_client0", "kafka_grpc0", "grpc_client0"});
  CHECK_FALSE(plan.telemetry_changed);
}

TEST_CASE("a changed binding that nothing names is renewed alone") {
  const ReloadPlan plan = planReload(chain(), chain("{}", R"({"max-in-flight":4})"));
  CHECK(plan.replaced == Names{"kafka_grpc0"});
  CHECK(plan.kept == Names{"kafka_client0", "grpc_client0"});
  CHECK(plan.fresh.size() == 1);
  CHECK(plan.fresh[0].options_json == R"({"max-in-flight":4})");
  CHECK(plan.summary() == "replaced kafka_grpc0; kept kafka_client0, grpc_client0");
}

TEST_CASE("a renewed binding renews those that name it: by a route's exit and by entry") {
  const ReloadPlan by_exit = planReload(chain(), chain("{}", "{}", R"({"x":1})"));
  CHECK(freshNames(by_exit) == Names{"kafka_grpc0", "grpc_client0"});
  CHECK(by_exit.kept == Names{"kafka_client0"});

  const ReloadPlan by_entry = planReload(chain(), chain(R"({"servers":["b:9092"]})"));
  CHECK(freshNames(by_entry) == Names{"kafka_client0", "kafka_grpc0"});
  CHECK(by_entry.kept == Names{"grpc_client0"});
}

TEST_CASE("added and removed bindings; a new namespace renews everything") {
  ZillaConfig next = chain();
  next.bindings.pop_back();
  next.bindings.push_back(entry("grpc_client1", "grpc", "{}"));
  const ReloadPlan plan = planReload(chain(), next);
  CHECK(plan.added == Names{"grpc_client1"});
  CHECK(plan.removed == Names{"grpc_client0"});
  CHECK(plan.replaced.empty());

  ZillaConfig renamed = chain();
  renamed.namespace_name = "other";
  CHECK(planReload(chain(), renamed).replaced ==
        Names{"kafka_client0", "kafka_grpc0", "grpc_client0"});
}

TEST_CASE("a telemetry change is noticed (it applies at the next start)") {
  ZillaConfig next = chain();
  next.telemetry.prometheus.push_back({"prometheus0", "/metrics", 9090});
  const ReloadPlan plan = planReload(chain(), next);
  CHECK(plan.telemetry_changed);
  CHECK_FALSE(plan.changesBindings());
}

TEST_CASE("the names a binding refers to: entry, exit and every route's exit") {
  BindingEntry binding = entry("b", "kafka-grpc", "{}", "k", R"([{"exit":"g1"},{"exit":"g2"},{}])");
  binding.exit = "x";
  CHECK(zb::host::referencesOf(binding) == Names{"k", "x", "g1", "g2"});
}

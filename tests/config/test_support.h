// Helpers shared by the config tests.
#pragma once

#include <zb/runtime/config.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace zb::test {

inline std::unique_ptr<zb::runtime::SchemaValidator> compileOrFail(std::string_view schema) {
  std::string error;
  auto validator = zb::runtime::SchemaValidator::compile(schema, error);
  INFO(error);
  REQUIRE(validator != nullptr);
  return validator;
}

inline Json::Value json(std::string_view text) {
  std::string error;
  auto value = zb::runtime::parseJsonText(text, error);
  INFO(error);
  REQUIRE(value.has_value());
  return *value;
}

inline std::string describe(const std::vector<zb::runtime::ConfigProblem>& problems) {
  std::ostringstream out;
  for (const auto& problem : problems) {
    out << zb::runtime::formatProblem("zilla.yaml", problem) << "\n";
  }
  return out.str();
}

// True when some problem has exactly this pointer and a message containing `text`.
inline bool hasProblem(const std::vector<zb::runtime::ConfigProblem>& problems,
                       std::string_view pointer, std::string_view text) {
  return std::any_of(problems.begin(), problems.end(), [&](const auto& problem) {
    return problem.pointer == pointer && problem.message.find(text) != std::string::npos;
  });
}

}  // namespace zb::test

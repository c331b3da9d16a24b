// The two engines behind SchemaValidator, compiled from one schema, to check that they agree:
// valijson's verdict (valid or not) and the walker's problems (none or some). SchemaValidator
// trusts valijson's verdict and shows the walker's messages, so a disagreement would either
// hide a problem's message or drop a problem; these checks show there is none.
#pragma once

#include "schema_walker.h"
#include "test_support.h"
#include "valijson_schema.h"

#include <memory>
#include <string>
#include <string_view>

namespace zb::test {

class EnginePair {
 public:
  explicit EnginePair(std::string_view schema_text) {
    const Json::Value schema = json(schema_text);
    std::string error;
    walker_ = zb::runtime::config_detail::SchemaWalker::compile(schema, error);
    INFO(error);
    REQUIRE(walker_ != nullptr);
    valijson_ = zb::runtime::config_detail::ValijsonSchema::compile(schema, error);
    REQUIRE(valijson_ != nullptr);
  }

  struct Comparison {
    bool valijson_valid = false;
    std::string disagreement;  // empty when both call the document valid, or both invalid
  };

  Comparison compare(const Json::Value& document) const {
    const zb::runtime::config_detail::ValijsonVerdict verdict = valijson_->check(document);
    const std::vector<zb::runtime::ConfigProblem> problems = walker_->problems(document);
    Comparison comparison{verdict.valid && !verdict.undecided, {}};
    if (!verdict.undecided && verdict.valid == problems.empty()) {
      return comparison;
    }
    std::string& out = comparison.disagreement;
    out = "document: " + zb::runtime::toJsonText(document) + "\nvalijson: ";
    out += verdict.valid ? std::string("valid")
                         : (verdict.undecided ? "undecided, " : "invalid, ") +
                               zb::runtime::formatProblem("deepest", verdict.deepest);
    out += "\nwalker: " +
           (problems.empty() ? std::string("no problems\n") : "\n" + describe(problems));
    return comparison;
  }

  std::string disagreement(const Json::Value& document) const {
    return compare(document).disagreement;
  }

  bool valijsonAccepts(const Json::Value& document) const {
    return valijson_->check(document).valid;
  }

 private:
  std::unique_ptr<zb::runtime::config_detail::SchemaWalker> walker_;
  std::unique_ptr<zb::runtime::config_detail::ValijsonSchema> valijson_;
};

// CHECKs that valijson and the walker agree on `document`; returns valijson's verdict.
inline bool checkEnginesAgree(const EnginePair& engines, const Json::Value& document) {
  const EnginePair::Comparison comparison = engines.compare(document);
  CHECK_MESSAGE(comparison.disagreement.empty(), comparison.disagreement);
  return comparison.valijson_valid;
}

inline bool checkEnginesAgree(std::string_view schema_text, const Json::Value& document) {
  return checkEnginesAgree(EnginePair(schema_text), document);
}

}  // namespace zb::test

// zilla.yaml text -> ConfigDocument: ${{env.NAME}} substitution, YAML 1.2 core-schema scalars,
// and the original line and column of every value, even on lines where substitution moved text.
#include <zb/runtime/config.h>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

namespace zb::runtime {

std::optional<std::string> processEnv(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

SourcePosition ConfigDocument::positionOf(std::string_view pointer) const {
  std::string at(pointer);
  while (true) {
    const auto found = positions.find(at);
    if (found != positions.end()) {
      return found->second;
    }
    if (at.empty()) {
      return {};
    }
    at.erase(at.rfind('/'));
  }
}

void ConfigDocument::locate(std::vector<ConfigProblem>& problems) const {
  for (ConfigProblem& problem : problems) {
    if (problem.line == 0) {
      const SourcePosition position = positionOf(problem.pointer);
      problem.line = position.line;
      problem.column = position.column;
    }
  }
}

std::vector<std::string> ConfigDocument::keysOf(std::string_view pointer,
                                                const Json::Value& object) const {
  const auto found = key_order.find(std::string(pointer));
  if (found != key_order.end() && object.isObject() && found->second.size() == object.size()) {
    return found->second;
  }
  return object.isObject() ? object.getMemberNames() : std::vector<std::string>{};
}

namespace {

// ${{env.NAME}}, as Zilla writes it; spaces are allowed inside the braces.
const std::regex& placeholderPattern() {
  static const std::regex pattern(R"(\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\})");
  return pattern;
}

// The offset of the first byte of `text` that is not part of well-formed UTF-8 (no overlong
// forms, no surrogates, nothing above U+10FFFF), or npos when it is all well-formed.
size_t firstInvalidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](size_t at) { return static_cast<unsigned char>(text[at]); };
    const unsigned char lead = byte(i);
    size_t length = 0;
    unsigned char low = 0x80;  // the range of the second byte, narrowed for some leads
    unsigned char high = 0xBF;
    if (lead < 0x80) {
      length = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      low = lead == 0xE0 ? 0xA0 : 0x80;   // not overlong
      high = lead == 0xED ? 0x9F : 0xBF;  // not a surrogate
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      low = lead == 0xF0 ? 0x90 : 0x80;   // not overlong
      high = lead == 0xF4 ? 0x8F : 0xBF;  // not above U+10FFFF
    } else {
      return i;
    }
    if (i + length > text.size()) {
      return i;
    }
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = byte(i + k);
      if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) {
        return i;
      }
    }
    i += length;
  }
  return std::string_view::npos;
}

// Counts the documents of a YAML stream, stopping at two: zilla.yaml must hold one. Bounded on
// purpose: yaml-cpp 0.7's LoadAll never returns on some invalid texts (",\n :" among them,
// jbeder/yaml-cpp#1040), its parser reporting a new document again and again.
class DocumentCounter : public YAML::EventHandler {
 public:
  // Parses up to the start of a second document; throws YAML::Exception on a syntax error.
  static DocumentCounter count(const std::string& text) {
    std::istringstream input(text);
    YAML::Parser parser(input);
    DocumentCounter counter;
    while (counter.documents_ < 2 && parser.HandleNextDocument(counter)) {
    }
    return counter;
  }

  size_t documents() const { return documents_; }
  const YAML::Mark& secondStart() const { return second_start_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) {
      second_start_ = mark;
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  size_t documents_ = 0;
  YAML::Mark second_start_;
};

// One substituted placeholder: where it was in the original text and where its value is in the
// substituted text.
struct Splice {
  size_t original_begin;
  size_t original_end;
  size_t substituted_begin;
  size_t substituted_end;
};

// Maps offsets in the substituted text back to lines and columns of the original text.
class SourceMap {
 public:
  SourceMap(std::string_view original, size_t base) : original_(original), base_(base) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < original.size(); ++i) {
      if (original[i] == '\n') {
        line_starts_.push_back(i + 1);
      }
    }
  }

  void add(const Splice& splice) { splices_.push_back(splice); }

  SourcePosition at(const YAML::Mark& mark) const {
    if (mark.pos < 0 || mark.line < 0) {
      return {};
    }
    return atOriginal(toOriginal(static_cast<size_t>(mark.pos)) + base_);
  }

  SourcePosition atOriginal(size_t offset) const {
    offset = std::min(offset, original_.size());
    const auto line = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - 1;
    int column = 1;
    for (size_t i = *line; i < offset; ++i) {
      if ((static_cast<unsigned char>(original_[i]) & 0xC0) != 0x80) {
        ++column;
      }
    }
    return {static_cast<int>(line - line_starts_.begin()) + 1, column};
  }

 private:
  size_t toOriginal(size_t substituted) const {
    const Splice* last = nullptr;
    for (const Splice& splice : splices_) {
      if (splice.substituted_begin > substituted) {
        break;
      }
      last = &splice;
    }
    if (last == nullptr) {
      return substituted;
    }
    if (substituted < last->substituted_end) {
      return last->original_begin;
    }
    return last->original_end + (substituted - last->substituted_end);
  }

  std::string_view original_;
  size_t base_;
  std::vector<size_t> line_starts_;
  std::vector<Splice> splices_;
};

bool matchesAll(const std::string& text, const char* pattern) {
  return std::regex_match(text, std::regex(pattern));
}

// YAML 1.2 core schema resolution of a plain scalar.
Json::Value plainScalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return Json::Value();
  }
  if (text == "true" || text == "True" || text == "TRUE") {
    return Json::Value(true);
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return Json::Value(false);
  }
  const char first = text[0];
  if (!(std::isdigit(static_cast<unsigned char>(first)) || first == '-' || first == '+' ||
        first == '.')) {
    return Json::Value(text);
  }
  if (matchesAll(text, "[-+]?[0-9]+")) {
    errno = 0;
    char* end = nullptr;
    if (text[0] != '-') {
      const unsigned long long u = std::strtoull(text.c_str(), &end, 10);
      if (errno == 0) {
        return u <= static_cast<unsigned long long>(INT64_MAX)
                   ? Json::Value(static_cast<Json::Int64>(u))
                   : Json::Value(static_cast<Json::UInt64>(u));
      }
    } else {
      const long long i = std::strtoll(text.c_str(), &end, 10);
      if (errno == 0) {
        return Json::Value(static_cast<Json::Int64>(i));
      }
    }
    return Json::Value(std::strtod(text.c_str(), nullptr));
  }
  if (matchesAll(text, "0o[0-7]+")) {
    return Json::Value(static_cast<Json::UInt64>(std::strtoull(text.c_str() + 2, nullptr, 8)));
  }
  if (matchesAll(text, "0x[0-9a-fA-F]+")) {
    return Json::Value(static_cast<Json::UInt64>(std::strtoull(text.c_str() + 2, nullptr, 16)));
  }
  if (matchesAll(text, R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)")) {
    return Json::Value(std::strtod(text.c_str(), nullptr));
  }
  // Infinity and NaN have no JSON form: they stay text, and the schema says what it wanted.
  return Json::Value(text);
}

constexpr int kMaxNesting = 100;
constexpr size_t kMaxNodes = 200'000;

// Builds the JSON value of one YAML node, its position and those of everything below it.
class Converter {
 public:
  Converter(const SourceMap& map, ConfigDocument& document, std::vector<ConfigProblem>& problems,
            const std::set<std::string>& unset)
      : map_(map), document_(document), problems_(problems), unset_(unset) {}

  Json::Value convert(const YAML::Node& node, const std::string& pointer, int depth) {
    if (++nodes_ > kMaxNodes || depth > kMaxNesting) {
      if (!too_big_) {
        const SourcePosition position = document_.positionOf(pointer);
        problems_.push_back({pointer,
                             "the document is nested too deeply or has too many values (YAML "
                             "aliases count once per use)",
                             position.line, position.column});
        too_big_ = true;
      }
      return Json::Value();
    }
    switch (node.Type()) {
      case YAML::NodeType::Map:
        return convertMap(node, pointer, depth);
      case YAML::NodeType::Sequence: {
        Json::Value array(Json::arrayValue);
        Json::ArrayIndex index = 0;
        for (const YAML::Node& item : node) {
          const std::string child = pointer + "/" + std::to_string(index++);
          document_.positions.emplace(child, map_.at(item.Mark()));
          array.append(convert(item, child, depth + 1));
        }
        return array;
      }
      case YAML::NodeType::Scalar:
        return convertScalar(node, pointer);
      default:
        return Json::Value();
    }
  }

 private:
  Json::Value convertMap(const YAML::Node& node, const std::string& pointer, int depth) {
    Json::Value object(Json::objectValue);
    std::vector<std::string>& order = document_.key_order[pointer];
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies: yaml-cpp's iterator hands out a temporary pair, references would dangle.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      const SourcePosition key_position = map_.at(key.Mark());
      if (!key.IsScalar()) {
        problems_.push_back(
            {pointer, "mapping keys must be plain text", key_position.line, key_position.column});
        continue;
      }
      const std::string& name = key.Scalar();
      const std::string child = appendPointer(pointer, name);
      reportUnset(name, child, key_position);
      if (object.isMember(name)) {
        problems_.push_back(
            {child, "duplicate key \"" + name + "\"", key_position.line, key_position.column});
        continue;
      }
      // A value that starts on the key's line is located at the value (a scalar, a flow
      // collection); a block collection below its key is located at the key.
      SourcePosition position = key_position;
      if (value.IsDefined() && !value.IsNull()) {
        const SourcePosition value_position = map_.at(value.Mark());
        if (value.IsScalar() || value_position.line == key_position.line) {
          position = value_position;
        }
      }
      document_.positions.emplace(child, position);
      order.push_back(name);
      object[name] = convert(value, child, depth + 1);
    }
    return object;
  }

  Json::Value convertScalar(const YAML::Node& node, const std::string& pointer) {
    const std::string& text = node.Scalar();
    const SourcePosition position = map_.at(node.Mark());
    reportUnset(text, pointer, position);
    const std::string& tag = node.Tag();
    if (tag == "?") {
      return plainScalar(text);
    }
    if (tag == "!" || tag == "tag:yaml.org,2002:str") {
      return Json::Value(text);
    }
    Json::Value resolved = plainScalar(text);
    if ((tag == "tag:yaml.org,2002:int" &&
         (resolved.type() == Json::intValue || resolved.type() == Json::uintValue)) ||
        (tag == "tag:yaml.org,2002:float" && resolved.isNumeric()) ||
        (tag == "tag:yaml.org,2002:bool" && resolved.isBool()) ||
        (tag == "tag:yaml.org,2002:null" && resolved.isNull())) {
      return tag == "tag:yaml.org,2002:float" ? Json::Value(resolved.asDouble()) : resolved;
    }
    problems_.push_back({pointer, "the YAML tag \"" + tag + "\" is not supported here",
                         position.line, position.column});
    return Json::Value(text);
  }

  // An unset variable leaves its placeholder in the text; a value still holding one is a problem.
  // Placeholders in comments never reach a value, so they are not reported.
  void reportUnset(const std::string& text, const std::string& pointer, SourcePosition position) {
    if (unset_.empty() || text.find("${{") == std::string::npos) {
      return;
    }
    for (auto it = std::sregex_iterator(text.begin(), text.end(), placeholderPattern());
         it != std::sregex_iterator(); ++it) {
      const std::string name = (*it)[1].str();
      if (unset_.count(name) != 0) {
        problems_.push_back({pointer, "environment variable " + name + " is not set", position.line,
                             position.column});
      }
    }
  }

  const SourceMap& map_;
  ConfigDocument& document_;
  std::vector<ConfigProblem>& problems_;
  const std::set<std::string>& unset_;
  size_t nodes_ = 0;
  bool too_big_ = false;
};

}  // namespace

bool loadYaml(std::string_view yaml_text, const EnvLookup& env, ConfigDocument& out,
              std::vector<ConfigProblem>& problems) {
  out = ConfigDocument();
  const size_t problems_before = problems.size();
  std::string_view text = yaml_text;
  size_t base = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {  // a UTF-8 byte order mark
    text.remove_prefix(3);
    base = 3;
  }
  SourceMap map(yaml_text, base);
  // Everything downstream (the YAML parser, the schema checks' string lengths) takes text as
  // UTF-8: refuse anything else here, where the place can still be named.
  if (const size_t bad = firstInvalidUtf8(text); bad != std::string_view::npos) {
    const SourcePosition at = map.atOriginal(bad + base);
    problems.push_back(
        {"", "the file is not valid UTF-8 text (a bad byte here)", at.line, at.column});
    return false;
  }

  // Substitute. The result holds secrets: it is parsed and dropped, never logged or quoted.
  std::string substituted;
  substituted.reserve(text.size());
  std::set<std::string> unset;
  std::vector<std::pair<std::string, size_t>> unset_at;  // name, original offset
  std::set<std::string> recorded;
  size_t copied = 0;
  const std::string source(text);
  for (auto it = std::sregex_iterator(source.begin(), source.end(), placeholderPattern());
       it != std::sregex_iterator(); ++it) {
    const std::smatch& match = *it;
    const size_t begin = static_cast<size_t>(match.position(0));
    const size_t end = begin + static_cast<size_t>(match.length(0));
    const std::string name = match[1].str();
    substituted.append(source, copied, begin - copied);
    copied = end;
    const std::optional<std::string> value = env ? env(name) : std::nullopt;
    if (value && firstInvalidUtf8(*value) != std::string_view::npos) {
      const SourcePosition at = map.atOriginal(begin + base);
      problems.push_back(
          {"", "environment variable " + name + " is not valid UTF-8 text", at.line, at.column});
      substituted.append(source, begin, end - begin);
      continue;
    }
    if (!value) {
      unset.insert(name);
      unset_at.emplace_back(name, begin + base);
      substituted.append(source, begin, end - begin);
      continue;
    }
    const size_t at = substituted.size();
    substituted += *value;
    map.add({begin, end, at, substituted.size()});
    if (recorded.insert(name).second) {
      out.substitutions.emplace_back(name, *value);
    }
  }
  substituted.append(source, copied, std::string::npos);

  if (problems.size() != problems_before) {
    return false;  // a value that is not UTF-8: nothing more can be said safely
  }

  YAML::Node root;
  DocumentCounter counted;
  try {
    counted = DocumentCounter::count(substituted);
    root = YAML::Load(substituted);
  } catch (const YAML::Exception& e) {
    const SourcePosition position = map.at(e.mark);
    problems.push_back({"", "YAML syntax error: " + e.msg, position.line, position.column});
    // The YAML did not parse, so it is unknown which placeholders sit in comments: name them all.
    for (const auto& [name, offset] : unset_at) {
      const SourcePosition at = map.atOriginal(offset);
      problems.push_back({"", "environment variable " + name + " is not set", at.line, at.column});
    }
    return false;
  }
  if (counted.documents() > 1) {
    const SourcePosition position = map.at(counted.secondStart());
    problems.push_back({"", "the file must hold one YAML document; a second one starts here",
                        position.line, position.column});
  }
  out.positions.emplace(
      "", root.IsDefined() && !root.IsNull() ? map.at(root.Mark()) : SourcePosition{1, 1});
  Converter converter(map, out, problems, unset);
  try {
    out.root = converter.convert(root, "", 0);
  } catch (const YAML::Exception& e) {
    const SourcePosition position = map.at(e.mark);
    problems.push_back({"", "YAML error: " + e.msg, position.line, position.column});
  }
  std::stable_sort(problems.begin() + static_cast<std::ptrdiff_t>(problems_before), problems.end(),
                   [](const ConfigProblem& a, const ConfigProblem& b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  return problems.size() == problems_before;
}

}  // namespace zb::runtime

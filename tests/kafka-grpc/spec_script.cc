#include "spec_script.h"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace zb::kafka_grpc::spec {
namespace {

void printString(std::string& out, std::string_view s, bool abbreviate) {
  if (abbreviate && s.size() > 96) {
    printString(out, s.substr(0, 40), false);
    out += "...(" + std::to_string(s.size()) + " bytes)...";
    printString(out, s.substr(s.size() - 24), false);
    return;
  }
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          char hex[5];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void printTo(std::string& out, const Value& v, bool abbreviate) {
  switch (v.kind) {
    case Value::Kind::kNull:
      out += "null";
      break;
    case Value::Kind::kAny:
      out += "*";
      break;
    case Value::Kind::kInt:
      out += std::to_string(v.number);
      break;
    case Value::Kind::kString:
      printString(out, v.text, abbreviate);
      break;
    case Value::Kind::kWord:
      out += v.text;
      break;
    case Value::Kind::kList:
    case Value::Kind::kCall:
      if (v.kind == Value::Kind::kCall) {
        out += v.text;
      }
      out += v.kind == Value::Kind::kList ? '[' : '(';
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) {
          out += ',';
        }
        printTo(out, v.items[i], abbreviate);
      }
      out += v.kind == Value::Kind::kList ? ']' : ')';
      break;
    case Value::Kind::kPair:
      printTo(out, v.items[0], abbreviate);
      out += ':';
      printTo(out, v.items[1], abbreviate);
      break;
  }
}

class Parser {
 public:
  Parser(std::string_view text, std::string& error) : text_(text), error_(error) {}

  std::optional<Value> parseAll() {
    std::optional<Value> v = value();
    skipSpace();
    if (v && pos_ != text_.size()) {
      return fail("unexpected text after value");
    }
    return v;
  }

 private:
  std::optional<Value> fail(const std::string& what) {
    if (error_.empty()) {
      error_ = what + " at column " + std::to_string(pos_ + 1) + " of `" + std::string(text_) + "`";
    }
    return std::nullopt;
  }

  void skipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }

  std::optional<Value> value() {
    std::optional<Value> a = atom();
    if (!a) {
      return std::nullopt;
    }
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == ':') {
      ++pos_;
      std::optional<Value> b = atom();
      if (!b) {
        return std::nullopt;
      }
      return Value::pair(std::move(*a), std::move(*b));
    }
    return a;
  }

  std::optional<std::vector<Value>> sequence(char close) {
    std::vector<Value> items;
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == close) {
      ++pos_;
      return items;
    }
    while (true) {
      std::optional<Value> v = value();
      if (!v) {
        return std::nullopt;
      }
      items.push_back(std::move(*v));
      skipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == close) {
        ++pos_;
        return items;
      }
      fail(std::string("expected ',' or '") + close + "'");
      return std::nullopt;
    }
  }

  std::optional<Value> atom() {
    skipSpace();
    if (pos_ >= text_.size()) {
      return fail("expected a value");
    }
    const char c = text_[pos_];
    if (c == '"') {
      return quoted();
    }
    if (c == '[') {
      ++pos_;
      auto items = sequence(']');
      if (!items) {
        return std::nullopt;
      }
      return Value::list(std::move(*items));
    }
    if (c == '*') {
      ++pos_;
      Value any;
      any.kind = Value::Kind::kAny;
      return any;
    }
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
      const size_t start = pos_;
      ++pos_;
      while (pos_ < text_.size() && std::isalnum(static_cast<unsigned char>(text_[pos_]))) {
        ++pos_;
      }
      const std::string digits(text_.substr(start, pos_ - start));
      try {
        size_t used = 0;
        const long long n = std::stoll(digits, &used, 0);
        if (used != digits.size()) {
          return fail("bad number");
        }
        return Value::integer(n);
      } catch (...) {
        return fail("bad number");
      }
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const size_t start = pos_;
      while (pos_ < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_' ||
              text_[pos_] == '-' || text_[pos_] == '.')) {
        ++pos_;
      }
      const std::string_view word = text_.substr(start, pos_ - start);
      if (pos_ < text_.size() && text_[pos_] == '(') {
        ++pos_;
        auto args = sequence(')');
        if (!args) {
          return std::nullopt;
        }
        return Value::call(word, std::move(*args));
      }
      if (word == "null") {
        return Value::null();
      }
      return Value::word(word);
    }
    return fail("unexpected character");
  }

  std::optional<Value> quoted() {
    ++pos_;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\' && pos_ < text_.size()) {
        const char e = text_[pos_++];
        switch (e) {
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case 'x': {
            if (pos_ + 2 > text_.size()) {
              return fail("bad \\x escape");
            }
            c = static_cast<char>(std::stoi(std::string(text_.substr(pos_, 2)), nullptr, 16));
            pos_ += 2;
            break;
          }
          default:
            c = e;
        }
      }
      out += c;
    }
    if (pos_ >= text_.size()) {
      return fail("unterminated string");
    }
    ++pos_;
    return Value::string(out);
  }

  std::string_view text_;
  std::string& error_;
  size_t pos_ = 0;
};

void appendVarint(std::string& out, uint64_t n) {
  while (n >= 0x80) {
    out += static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  out += static_cast<char>(n);
}

// Splits a step line into tokens at spaces outside quotes, brackets and parentheses.
std::vector<std::string> tokens(std::string_view line) {
  std::vector<std::string> out;
  std::string current;
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      current += c;
      if (c == '\\' && i + 1 < line.size()) {
        current += line[++i];
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == '[' || c == '(') {
      ++depth;
    } else if (c == ']' || c == ')') {
      --depth;
    } else if (std::isspace(static_cast<unsigned char>(c)) && depth == 0) {
      if (!current.empty()) {
        out.push_back(current);
        current.clear();
      }
      continue;
    }
    current += c;
  }
  if (!current.empty()) {
    out.push_back(current);
  }
  return out;
}

std::string substitute(const std::string& line, const std::map<std::string, std::string>& vars) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '$' && i + 1 < line.size() &&
        (std::isupper(static_cast<unsigned char>(line[i + 1])) || line[i + 1] == '_')) {
      size_t end = i + 1;
      while (end < line.size() &&
             (std::isupper(static_cast<unsigned char>(line[end])) ||
              std::isdigit(static_cast<unsigned char>(line[end])) || line[end] == '_')) {
        ++end;
      }
      auto it = vars.find(line.substr(i + 1, end - i - 1));
      if (it != vars.end()) {
        out += it->second;
        i = end - 1;
        continue;
      }
    }
    out += line[i];
  }
  return out;
}

}  // namespace

std::string print(const Value& value, bool abbreviate) {
  std::string out;
  printTo(out, value, abbreviate);
  return out;
}

std::optional<Value> parseValue(std::string_view text, std::string& error) {
  return Parser(text, error).parseAll();
}

std::optional<std::string> payloadBytes(const Value& value, std::string& error) {
  switch (value.kind) {
    case Value::Kind::kNull:
      return std::nullopt;
    case Value::Kind::kString:
      return value.text;
    case Value::Kind::kCall: {
      const std::string& f = value.text;
      if (f == "hex" && value.items.size() == 1 && value.items[0].kind == Value::Kind::kString) {
        std::string out;
        const std::string& h = value.items[0].text;
        for (size_t i = 0; i + 1 < h.size(); i += 2) {
          out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
        }
        return out;
      }
      if (f == "fill" && value.items.size() == 2 && value.items[0].kind == Value::Kind::kString &&
          value.items[1].kind == Value::Kind::kInt) {
        std::string out;
        for (int64_t i = 0; i < value.items[1].number; ++i) {
          out += value.items[0].text;
        }
        return out;
      }
      if (f == "pb" && value.items.size() == 2 && value.items[0].kind == Value::Kind::kInt) {
        std::optional<std::string> inner = payloadBytes(value.items[1], error);
        if (!inner) {
          if (error.empty()) {
            error = "pb() of a null payload";
          }
          return std::nullopt;
        }
        std::string out;
        appendVarint(out, (static_cast<uint64_t>(value.items[0].number) << 3) | 2);
        appendVarint(out, inner->size());
        out += *inner;
        return out;
      }
      if (f == "cat") {
        std::string out;
        for (const Value& part : value.items) {
          std::optional<std::string> bytes = payloadBytes(part, error);
          if (!bytes) {
            if (error.empty()) {
              error = "cat() of a null payload";
            }
            return std::nullopt;
          }
          out += *bytes;
        }
        return out;
      }
      error = "unknown payload function " + print(value);
      return std::nullopt;
    }
    default:
      error = "not a payload: " + print(value);
      return std::nullopt;
  }
}

std::optional<Script> loadScript(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  Script script;
  script.path = path;
  std::map<std::string, std::string> vars;
  std::string raw;
  int number = 0;
  while (std::getline(in, raw)) {
    ++number;
    const int first = number;
    while (!raw.empty() && raw.back() == '\\') {
      raw.pop_back();
      std::string next;
      if (!std::getline(in, next)) {
        break;
      }
      ++number;
      raw += next;
    }
    const size_t start = raw.find_first_not_of(" \t");
    if (start == std::string::npos || raw[start] == '#') {
      continue;
    }
    const std::string line = substitute(raw.substr(start), vars);
    const auto where = [&] { return path + ":" + std::to_string(first) + ": "; };
    std::vector<std::string> words = tokens(line);
    Step step;
    step.line = first;
    step.text = line;
    if (words[0] == "set") {
      const size_t name_end = line.find_first_of(" \t", 4);
      if (words.size() < 3 || name_end == std::string::npos) {
        error = where() + "set NAME VALUE";
        return std::nullopt;
      }
      const size_t value_start = line.find_first_not_of(" \t", name_end);
      vars[words[1]] = line.substr(value_start);
      continue;
    }
    const auto parseOptions = [&](size_t from, std::vector<Field>& into) -> bool {
      for (size_t i = from; i < words.size(); ++i) {
        const size_t eq = words[i].find('=');
        if (eq == std::string::npos) {
          error = where() + "expected name=value, got `" + words[i] + "`";
          return false;
        }
        std::string value_error;
        std::optional<Value> v = parseValue(words[i].substr(eq + 1), value_error);
        if (!v) {
          error = where() + value_error;
          return false;
        }
        into.push_back(Field{words[i].substr(0, eq), std::move(*v)});
      }
      return true;
    };
    if (words[0] == "accept") {
      if (words.size() < 2) {
        error = where() + "accept ALIAS [options]";
        return std::nullopt;
      }
      step.op = Step::Op::kAccept;
      step.stream = words[1];
      if (!parseOptions(2, step.options)) {
        return std::nullopt;
      }
      script.steps.push_back(std::move(step));
      continue;
    }
    if (words[0] == "expect") {
      step.op = Step::Op::kExpect;
      size_t from = 1;
      if (words.size() > 1 && words[1].find('=') == std::string::npos) {
        step.stream = words[1];
        from = 2;
      }
      if (!parseOptions(from, step.options)) {
        return std::nullopt;
      }
      script.steps.push_back(std::move(step));
      continue;
    }
    if ((words[0] == "stop" || words[0] == "refuse") && words.size() == 1) {
      step.op = words[0] == "stop" ? Step::Op::kStop : Step::Op::kRefuse;
      script.steps.push_back(std::move(step));
      continue;
    }
    if (words[0] == "await" || words[0] == "notify") {
      if (words.size() != 2) {
        error = where() + words[0] + " NAME";
        return std::nullopt;
      }
      step.op = words[0] == "await" ? Step::Op::kAwait : Step::Op::kNotify;
      step.barrier = words[1];
      script.steps.push_back(std::move(step));
      continue;
    }
    if (words[0].back() != ':' || words.size() < 3 || (words[1] != "read" && words[1] != "write")) {
      error = where() + "expected `ALIAS: read|write FRAME ...`";
      return std::nullopt;
    }
    step.stream = words[0].substr(0, words[0].size() - 1);
    step.op = words[1] == "read" ? Step::Op::kRead : Step::Op::kWrite;
    step.frame = words[2];
    size_t next = 3;
    if (next < words.size() && words[next].find('=') == std::string::npos) {
      step.ext = words[next++];
    }
    std::vector<Field> fields;
    if (!parseOptions(next, fields)) {
      return std::nullopt;
    }
    for (Field& field : fields) {
      if (field.name == "payload") {
        step.payload = std::move(field.value);
      } else if (field.name == "flags") {
        step.flags = print(field.value);
      } else if (field.name == "overrun") {
        step.overrun = true;
      } else if (step.frame == "window" || step.frame == "idle") {
        step.options.push_back(std::move(field));
      } else {
        if (step.ext.empty()) {
          error = where() + "field " + field.name + " without an extension kind";
          return std::nullopt;
        }
        step.fields.push_back(std::move(field));
      }
    }
    script.steps.push_back(std::move(step));
  }
  return script;
}

}  // namespace zb::kafka_grpc::spec

// The spec script format (specs/README.md): one line per step a scripted peer takes, values in a
// small expression language shared by extension fields and payloads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zb::kafka_grpc::spec {

// A value in a script, or decoded from a frame: both print to the same canonical text, which is
// what is compared.
struct Value {
  enum class Kind { kNull, kAny, kInt, kString, kWord, kList, kCall, kPair };
  Kind kind = Kind::kNull;
  int64_t number = 0;
  std::string text;          // string bytes, word, or call name
  std::vector<Value> items;  // list items, call arguments, or the two sides of a pair

  static Value null() { return Value{}; }
  static Value integer(int64_t n) { return Value{Kind::kInt, n, {}, {}}; }
  static Value string(std::string_view s) { return Value{Kind::kString, 0, std::string(s), {}}; }
  static Value word(std::string_view s) { return Value{Kind::kWord, 0, std::string(s), {}}; }
  static Value list(std::vector<Value> items) {
    return Value{Kind::kList, 0, {}, std::move(items)};
  }
  static Value call(std::string_view name, std::vector<Value> args) {
    return Value{Kind::kCall, 0, std::string(name), std::move(args)};
  }
  static Value pair(Value a, Value b) {
    return Value{Kind::kPair, 0, {}, {std::move(a), std::move(b)}};
  }
};

// Canonical text: strings quoted with \" \\ \n \t \xHH escapes, lists "[a,b]", calls "f(a,b)",
// pairs "a:b". Long strings are shortened in the middle when `abbreviate` is set.
std::string print(const Value& value, bool abbreviate = false);

// Parses one value; nullopt with `error` when malformed.
std::optional<Value> parseValue(std::string_view text, std::string& error);

// A payload value as bytes: "text", null (returns nullopt: a null payload), hex("0a0b"),
// fill("ab", n), pb(field, payload) (a length-delimited protobuf field), cat(a, b, ...).
std::optional<std::string> payloadBytes(const Value& value, std::string& error);

struct Field {
  std::string name;
  Value value;
};

struct Step {
  enum class Op { kAccept, kRead, kWrite, kAwait, kNotify, kExpect, kStop, kRefuse };
  int line = 0;
  std::string text;  // the line as written, for messages
  Op op = Op::kRead;
  std::string stream;                // alias
  std::string frame;                 // begin, data, message, flush, end, abort, reset, window, idle
  std::string ext;                   // extension kind, e.g. "FetchDataEx"; empty: none
  std::vector<Field> fields;         // extension fields
  std::optional<Value> payload;      // payload=...
  std::optional<std::string> flags;  // flags=init|fin|none|complete
  bool overrun = false;              // overrun=yes: write data beyond the credit (a bad peer)
  std::vector<Field> options;        // accept / window options (window=, padding=, ack=, max=)
  std::string barrier;               // await / notify
};

struct Script {
  std::string path;
  std::vector<Step> steps;
};

// Reads a script file. Lines: "# comment", "set NAME value" (later "$NAME" is replaced by the
// value), "accept ALIAS [window=N] [padding=N] [ack=auto|manual]", "await NAME",
// "notify NAME", "expect [ALIAS] name=value...", "stop" (the host stops the bindings), "refuse"
// (the next stream opened to this peer is refused: on_stream_new returns NULL), "ALIAS:
// read|write FRAME [ExtKind field=value...] [flags=...] [payload=...]".
// A line ending in '\' continues on the next.
std::optional<Script> loadScript(const std::string& path, std::string& error);

}  // namespace zb::kafka_grpc::spec

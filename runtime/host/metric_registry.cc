#include "metric_registry.h"

#include "utf8.h"

#include <algorithm>
#include <cctype>

namespace zb::host {

namespace {

const char* kindName(zb_metric_kind kind) {
  switch (kind) {
    case ZB_METRIC_COUNTER:
      return "counter";
    case ZB_METRIC_GAUGE:
      return "gauge";
    case ZB_METRIC_HISTOGRAM:
      return "histogram";
  }
  return "untyped";
}

std::string sanitized(std::string_view name, bool allow_colon) {
  std::string out;
  for (const char c : name) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (allow_colon && c == ':');
    out += ok ? c : '_';
  }
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) {
    out.insert(out.begin(), '_');
  }
  return out;
}

// Label values are UTF-8 by Prometheus' format, and bounded here whatever a binding passes.
constexpr size_t kMaxLabelValueBytes = 256;

std::string escapedLabelValue(std::string_view raw) {
  const std::string value = validUtf8(raw, kMaxLabelValueBytes);
  std::string out;
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Parses `a="x",b="y"` (values may hold \" \\ \n escapes); stops at the first malformed pair.
std::vector<std::pair<std::string, std::string>> parseLabels(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> labels;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ',' || text[i] == ' ')) ++i;
    const size_t equals = text.find('=', i);
    if (equals == std::string_view::npos || equals + 1 >= text.size() || text[equals + 1] != '"') {
      break;
    }
    std::string name(text.substr(i, equals - i));
    while (!name.empty() && name.back() == ' ') name.pop_back();
    std::string value;
    size_t k = equals + 2;
    bool closed = false;
    for (; k < text.size(); ++k) {
      if (text[k] == '\\' && k + 1 < text.size()) {
        const char next = text[++k];
        value += next == 'n' ? '\n' : next;
      } else if (text[k] == '"') {
        closed = true;
        break;
      } else {
        value += text[k];
      }
    }
    if (!closed || name.empty()) {
      break;
    }
    labels.emplace_back(sanitized(name, false), std::move(value));
    i = k + 1;
  }
  return labels;
}

size_t bucketOf(int64_t value) {
  if (value <= 1) {
    return 0;
  }
  // The smallest i with value <= 2^i.
  const size_t i = 64 - static_cast<size_t>(__builtin_clzll(static_cast<uint64_t>(value - 1)));
  return std::min(i, MetricRegistry::kHistogramBuckets);
}

std::string withLabel(const std::string& labels, const std::string& extra) {
  return "{" + labels + (labels.empty() ? "" : ",") + extra + "}";
}

}  // namespace

MetricRegistry::MetricRegistry(std::string namespace_name)
    : namespace_name_(std::move(namespace_name)) {}

std::string MetricRegistry::familyName(zb_metric_kind kind, std::string_view name) {
  std::string family = sanitized(name, true);
  if (kind == ZB_METRIC_COUNTER &&
      (family.size() < 6 || family.compare(family.size() - 6, 6, "_total") != 0)) {
    family += "_total";
  }
  return family;
}

uint32_t MetricRegistry::declare(zb_metric_kind kind, std::string_view binding,
                                 std::string_view name, std::string_view labels) {
  std::string family = familyName(kind, name);
  const auto known = family_kinds_.find(family);
  if (known != family_kinds_.end() && known->second != kind) {
    // One family has one type in Prometheus: a clashing declaration gets a family of its own.
    family = sanitized(name, true) + "_" + kindName(kind);
  }
  family_kinds_.emplace(family, kind);

  std::string rendered = "namespace=\"" + escapedLabelValue(namespace_name_) + "\",binding=\"" +
                         escapedLabelValue(binding) + "\"";
  for (const auto& [label, value] : parseLabels(labels)) {
    if (label != "namespace" && label != "binding" && label != "le") {
      rendered += "," + label + "=\"" + escapedLabelValue(value) + "\"";
    }
  }
  const auto key = std::make_tuple(static_cast<int>(kind), family, rendered);
  const auto found = ids_.find(key);
  if (found != ids_.end()) {
    return found->second;
  }
  auto metric = std::make_unique<Metric>();
  metric->kind = kind;
  metric->family = family;
  metric->labels = rendered;
  std::lock_guard<std::mutex> lock(mutex_);
  metrics_.push_back(std::move(metric));
  const auto id = static_cast<uint32_t>(metrics_.size());
  ids_.emplace(key, id);
  return id;
}

void MetricRegistry::record(uint32_t id, int64_t value) {
  // No lock: only declare() changes metrics_, and it runs on this same (engine) thread.
  if (id == 0 || id > metrics_.size()) {
    return;
  }
  Metric& metric = *metrics_[id - 1];
  switch (metric.kind) {
    case ZB_METRIC_COUNTER:
      if (value > 0) {
        metric.value.fetch_add(value, std::memory_order_relaxed);
      }
      break;
    case ZB_METRIC_GAUGE:
      metric.value.fetch_add(value, std::memory_order_relaxed);
      break;
    case ZB_METRIC_HISTOGRAM:
      metric.buckets[bucketOf(value)].fetch_add(1, std::memory_order_relaxed);
      metric.value.fetch_add(value, std::memory_order_relaxed);
      break;
  }
}

std::string MetricRegistry::renderPrometheus() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, std::vector<const Metric*>> families;
  for (const auto& metric : metrics_) {
    families[metric->family].push_back(metric.get());
  }
  std::string out;
  for (const auto& [family, members] : families) {
    out += "# TYPE " + family + " " + kindName(members.front()->kind) + "\n";
    for (const Metric* metric : members) {
      if (metric->kind != ZB_METRIC_HISTOGRAM) {
        out += family + "{" + metric->labels + "} " +
               std::to_string(metric->value.load(std::memory_order_relaxed)) + "\n";
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t i = 0; i < kHistogramBuckets; ++i) {
        cumulative += metric->buckets[i].load(std::memory_order_relaxed);
        out += family + "_bucket" +
               withLabel(metric->labels, "le=\"" + std::to_string(uint64_t{1} << i) + "\"") + " " +
               std::to_string(cumulative) + "\n";
      }
      cumulative += metric->buckets[kHistogramBuckets].load(std::memory_order_relaxed);
      out += family + "_bucket" + withLabel(metric->labels, "le=\"+Inf\"") + " " +
             std::to_string(cumulative) + "\n";
      out += family + "_sum{" + metric->labels + "} " +
             std::to_string(metric->value.load(std::memory_order_relaxed)) + "\n";
      out += family + "_count{" + metric->labels + "} " + std::to_string(cumulative) + "\n";
    }
  }
  return out;
}

}  // namespace zb::host

#include "stoa/trace/options.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <stdexcept>

#include "stoa/text/ascii.hpp"

namespace stoa::trace {
namespace {

using text::percent_decode;
using text::to_lower;
using text::trim_ows;

[[noreturn]] void invalid(std::string_view variable, std::string_view what) {
  std::string message(variable);
  message += ": ";
  message += what;
  throw std::invalid_argument(message);
}

// The value of `name` in `env`, trimmed; empty when unset.
std::string_view get(const std::map<std::string, std::string>& env, const char* name) {
  const auto it = env.find(name);
  return it == env.end() ? std::string_view() : trim_ows(it->second);
}

bool is_token_char(char c) {
  if (text::is_alnum(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

// "k=v,k=v" with percent-decoded values (W3C Baggage without properties). Names and values are
// trimmed; empty members are skipped. Error messages never quote a value.
std::vector<std::pair<std::string, std::string>> parse_pairs(std::string_view variable,
                                                             std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view member = trim_ows(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (member.empty()) continue;
    const std::size_t eq = member.find('=');
    if (eq == std::string_view::npos) invalid(variable, "a member has no '=' (want k=v,k=v)");
    const std::string_view key = trim_ows(member.substr(0, eq));
    if (key.empty()) invalid(variable, "a member has an empty name");
    std::optional<std::string> value = percent_decode(trim_ows(member.substr(eq + 1)));
    if (!value) {
      invalid(variable, "the value of \"" + std::string(key) + "\" has a bad percent-encoding");
    }
    out.emplace_back(std::string(key), std::move(*value));
  }
  return out;
}

void read_headers(const std::map<std::string, std::string>& env, const char* variable,
                  std::map<std::string, std::string>& headers) {
  for (auto& [name, value] : parse_pairs(variable, get(env, variable))) {
    if (!std::all_of(name.begin(), name.end(), is_token_char)) {
      invalid(variable, "\"" + name + "\" is not a valid header name");
    }
    if (has_control(value)) {
      invalid(variable, "the value of \"" + name + "\" contains control characters");
    }
    headers[to_lower(name)] = std::move(value);
  }
}

std::uint64_t parse_count(const char* variable, std::string_view text) {
  std::uint64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    invalid(variable, "want a non-negative integer, got \"" + std::string(text) + "\"");
  }
  return v;
}

std::chrono::milliseconds parse_millis(const char* variable, std::string_view text) {
  const std::uint64_t v = parse_count(variable, text);
  if (v < 1 || v > 3'600'000) invalid(variable, "want milliseconds from 1 to 3600000");
  return std::chrono::milliseconds(static_cast<std::int64_t>(v));
}

double parse_ratio(std::string_view text) {
  // std::from_chars for double is in GCC 11+; it accepts no leading '+' or blanks.
  double v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || !(v >= 0 && v <= 1)) {
    invalid("OTEL_TRACES_SAMPLER_ARG",
            "want a ratio from 0 to 1, got \"" + std::string(text) + "\"");
  }
  return v;
}

void check_protocol(const char* variable, std::string_view value) {
  if (value.empty() || value == "http/json" || value == "http/protobuf") return;
  invalid(variable, "stoa exports over OTLP/HTTP with JSON (\"http/json\"); got \"" +
                        std::string(value) + "\"");
}

Sampler parse_sampler(std::string_view name, std::string_view arg) {
  Sampler s;
  constexpr std::string_view k_parent_based = "parentbased_";
  std::string_view root = name;
  s.parent_based = root.starts_with(k_parent_based);
  if (s.parent_based) root.remove_prefix(k_parent_based.size());
  if (root == "always_on") {
    s.root = Sampler::Root::always_on;
  } else if (root == "always_off") {
    s.root = Sampler::Root::always_off;
  } else if (root == "traceidratio") {
    s.root = Sampler::Root::trace_id_ratio;
    s.ratio = arg.empty() ? 1.0 : parse_ratio(arg);
  } else {
    invalid("OTEL_TRACES_SAMPLER",
            "unsupported sampler \"" + std::string(name) +
                "\" (supported: always_on, always_off, traceidratio, parentbased_always_on, "
                "parentbased_always_off, parentbased_traceidratio)");
  }
  return s;
}

}  // namespace

void validate(const TraceOptions& o) {
  if (!o.endpoint.empty()) {
    std::string_view url = o.endpoint;
    const bool http = text::istarts_with(url, "http://");
    const bool https = text::istarts_with(url, "https://");
    if (!http && !https) invalid("trace endpoint", "want an http:// or https:// URL");
    url.remove_prefix(http ? 7 : 8);
    if (url.empty() || url.front() == '/' || url.front() == '?' || url.front() == '#') {
      invalid("trace endpoint", "the URL has no host");
    }
    if (has_control(o.endpoint) || o.endpoint.find_first_of(" \t") != std::string::npos) {
      invalid("trace endpoint", "the URL contains blanks or control characters");
    }
  }
  for (const auto& [name, value] : o.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
      invalid("trace headers", "\"" + name + "\" is not a valid header name");
    }
    const std::string lname = to_lower(name);
    if (lname == "content-type" || lname == "content-length") {
      invalid("trace headers", "\"" + name + "\" is set by the exporter");
    }
    if (has_control(value)) {
      invalid("trace headers", "the value of \"" + name + "\" contains control characters");
    }
  }
  if (o.queue_size < 1 || o.queue_size > 1'048'576) {
    invalid("trace queue size", "want 1 to 1048576");
  }
  if (o.max_batch < 1 || o.max_batch > o.queue_size) {
    invalid("trace batch size", "want 1 to the queue size");
  }
  const auto ms_ok = [](std::chrono::milliseconds d) {
    return d >= std::chrono::milliseconds(1) && d <= std::chrono::hours(1);
  };
  if (!ms_ok(o.schedule_delay)) invalid("trace schedule delay", "want 1 ms to 1 h");
  if (!ms_ok(o.export_timeout)) invalid("trace export timeout", "want 1 ms to 1 h");
  if (!(o.sampler.ratio >= 0 && o.sampler.ratio <= 1)) {
    invalid("trace sampler ratio", "want 0 to 1");
  }
}

TraceOptions from_environment(const std::map<std::string, std::string>& env) {
  TraceOptions o;

  const std::string disabled = to_lower(get(env, "OTEL_SDK_DISABLED"));
  if (!disabled.empty() && disabled != "true" && disabled != "false") {
    invalid("OTEL_SDK_DISABLED", "want true or false");
  }

  if (const auto traces = get(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); !traces.empty()) {
    o.endpoint = traces;
  } else if (const auto base = get(env, "OTEL_EXPORTER_OTLP_ENDPOINT"); !base.empty()) {
    o.endpoint = base;
    if (o.endpoint.back() != '/') o.endpoint += '/';
    o.endpoint += "v1/traces";
  }

  read_headers(env, "OTEL_EXPORTER_OTLP_HEADERS", o.headers);
  read_headers(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", o.headers);

  check_protocol("OTEL_EXPORTER_OTLP_PROTOCOL", get(env, "OTEL_EXPORTER_OTLP_PROTOCOL"));
  check_protocol("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                 get(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"));

  for (const char* variable : {"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"}) {
    if (const auto v = get(env, variable); !v.empty()) o.export_timeout = parse_millis(variable, v);
  }
  if (const auto v = get(env, "OTEL_BSP_SCHEDULE_DELAY"); !v.empty()) {
    o.schedule_delay = parse_millis("OTEL_BSP_SCHEDULE_DELAY", v);
  }
  if (const auto v = get(env, "OTEL_BSP_MAX_QUEUE_SIZE"); !v.empty()) {
    o.queue_size = parse_count("OTEL_BSP_MAX_QUEUE_SIZE", v);
  }
  if (const auto v = get(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"); !v.empty()) {
    o.max_batch = parse_count("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", v);
  }
  // The spec's default batch (512) must not exceed a smaller configured queue.
  if (get(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE").empty()) {
    o.max_batch = std::min(o.max_batch, o.queue_size);
  }

  for (auto& [key, value] :
       parse_pairs("OTEL_RESOURCE_ATTRIBUTES", get(env, "OTEL_RESOURCE_ATTRIBUTES"))) {
    if (key == "service.name") {
      o.service_name = std::move(value);
    } else if (key == "service.version") {
      o.service_version = std::move(value);
    } else {
      o.resource_attributes.emplace_back(std::move(key), std::move(value));
    }
  }
  if (const auto v = get(env, "OTEL_SERVICE_NAME"); !v.empty()) o.service_name = v;

  if (const auto v = get(env, "OTEL_TRACES_SAMPLER"); !v.empty()) {
    o.sampler = parse_sampler(v, get(env, "OTEL_TRACES_SAMPLER_ARG"));
  }

  if (disabled == "true") o.endpoint.clear();
  validate(o);
  return o;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

}  // namespace stoa::trace

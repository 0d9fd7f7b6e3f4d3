#pragma once
// Tracing configuration, and how the standard OpenTelemetry environment variables set it.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stoa/trace/tracer.hpp"

namespace stoa::trace {

struct TraceOptions {
  // The full OTLP/HTTP traces URL ("http://collector:4318/v1/traces"), http or https. Empty:
  // tracing is disabled (make_tracer returns a disabled Tracer).
  std::string endpoint;
  std::string service_name = "stoa";
  std::string service_version = STOA_VERSION;
  // More resource attributes (OTEL_RESOURCE_ATTRIBUTES), after service.name and service.version.
  std::vector<std::pair<std::string, std::string>> resource_attributes;
  // Sent with every export (e.g. authorization). The values are secrets: never log them.
  std::map<std::string, std::string> headers;
  Sampler sampler;
  std::size_t queue_size = 2048;  // ended spans waiting for export; more are dropped
  std::size_t max_batch = 512;    // spans per POST, at most queue_size
  std::chrono::milliseconds schedule_delay{1000};  // a partial batch waits at most this long
  std::chrono::milliseconds export_timeout{2000};  // connect and whole POST
  // Called on the exporter thread with one line (never a header value) when exports start failing,
  // at most once a minute while they keep failing, and once when they work again. Optional.
  std::function<void(std::string_view message)> on_error;

  bool enabled() const { return !endpoint.empty(); }
};

// The options that the OpenTelemetry environment variables in `env` ask for, starting from the
// defaults above:
//   OTEL_SDK_DISABLED                    "true": tracing disabled ("false" or unset: not)
//   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT   the traces URL, used as is
//   OTEL_EXPORTER_OTLP_ENDPOINT          a base URL; "v1/traces" is appended (after a '/')
//   OTEL_EXPORTER_OTLP_[TRACES_]HEADERS  "k=v,k=v", values percent-decoded, names lowercased;
//                                        the TRACES_ ones win per name
//   OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL "http/json" or "http/protobuf" (stoa sends JSON, which
//                                        OTLP/HTTP receivers accept); "grpc" is refused
//   OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT  milliseconds
//   OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES ("k=v,k=v", percent-decoded; its service.name is
//                                        used when OTEL_SERVICE_NAME is unset)
//   OTEL_TRACES_SAMPLER                  always_on, always_off, traceidratio,
//   parentbased_always_on,
//                                        parentbased_always_off, parentbased_traceidratio
//   OTEL_TRACES_SAMPLER_ARG              the ratio, in [0, 1] (default 1)
//   OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_SCHEDULE_DELAY (ms)
// No endpoint variable: disabled (stoa does not guess http://localhost:4318). Empty values count
// as unset. Throws std::invalid_argument with one line naming the variable when a value is
// invalid (header values are never quoted in it), or the result fails validate(): bad
// configuration stops startup.
TraceOptions from_environment(const std::map<std::string, std::string>& env);

// Throws std::invalid_argument (one line, never a header value) unless `options` can be used:
// endpoint empty or an http(s) URL with a host and no blanks or control characters; header names
// HTTP tokens other than content-type and content-length, values without control characters;
// 1 <= queue_size <= 1048576; 1 <= max_batch <= queue_size; delays and timeout 1 ms .. 1 h;
// sampler ratio in [0, 1].
void validate(const TraceOptions& options);

// The process environment as a map, for from_environment.
std::map<std::string, std::string> process_environment();

}  // namespace stoa::trace

#pragma once
// Export over OTLP/HTTP with the JSON encoding: POST <endpoint> with Content-Type
// application/json and an ExportTraceServiceRequest in the protobuf JSON mapping (ids as lowercase
// hex, 64-bit integers as decimal strings, enums as integers).
//
// The exporter is asynchronous: ended spans wait in a bounded queue; one background thread sends
// them in batches (max_batch spans, or whatever is queued every schedule_delay) with libcurl,
// export_timeout for connect and whole POST. Nothing on the submitting side blocks on I/O or
// allocates: a full queue drops the span and counts it. A failed POST drops its batch and counts
// it, and the next one waits at least schedule_delay (no retries, no storm against a collector
// that is down). Error messages never carry header values or the endpoint's userinfo.

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "stoa/trace/options.hpp"
#include "stoa/trace/tracer.hpp"

namespace stoa::trace {

// Appends one ExportTraceServiceRequest: one resource (service.name, service.version, then
// `resource.resource_attributes`), one scope {name "stoa", version service_version}, `spans`.
void append_export_request(std::string& out, const TraceOptions& resource,
                           std::span<const std::unique_ptr<SpanData>> spans);

// The exporter for `options.endpoint` (its headers, queue and batch settings), its thread
// running. Throws std::invalid_argument when validate(options) does, or the endpoint is empty,
// and std::runtime_error when libcurl cannot be set up. Destroying it shuts it down with a
// deadline of export_timeout.
std::unique_ptr<Exporter> make_otlp_http_exporter(TraceOptions options);

// A disabled Tracer when !options.enabled(), else one exporting with make_otlp_http_exporter and
// sampling with options.sampler. Throws as make_otlp_http_exporter (options are validated even
// when tracing is disabled).
Tracer make_tracer(TraceOptions options);

}  // namespace stoa::trace

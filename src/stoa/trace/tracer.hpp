#pragma once
// Spans and the Tracer that starts them.
//
// A Tracer without an exporter is disabled: start_span() returns an inert Span that only carries
// its parent's context (so an incoming traceparent is still passed on upstream), and costs no
// allocation and no clock read; every Span member is then an inline test of one pointer. With an
// exporter, a sampled span records name, kind, times, attributes and status in a heap SpanData
// that is handed to the exporter when the span ends; an unsampled span gets fresh ids (for
// propagation) but records nothing, like an inert one.
//
// Thread-safety: a Tracer is safe to share between threads (start_span is const and lock-free).
// A Span belongs to one thread at a time. A Span must not outlive its Tracer.

#include <array>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "stoa/trace/context.hpp"

namespace stoa::trace {

enum class Kind : std::uint8_t { internal, server, client };
enum class StatusCode : std::uint8_t { unset, ok, error };

using AttributeValue = std::variant<std::string, std::int64_t, bool>;

struct Attribute {
  std::string key;
  AttributeValue value;
};

// A span's attributes: the first k_inline without another allocation, at most k_max in all; one
// more distinct key than that is dropped and counted (OTLP droppedAttributesCount).
class AttributeList {
 public:
  static constexpr std::size_t k_inline = 8;
  static constexpr std::size_t k_max = 64;

  // The attribute with this key (a new one holds an empty string until assigned); nullptr when
  // the key is new and the list is full (the key is then counted as dropped).
  Attribute* slot(std::string_view key);

  std::size_t size() const { return m_size; }
  const Attribute& operator[](std::size_t i) const {
    return i < k_inline ? m_inline[i] : m_overflow[i - k_inline];
  }
  std::uint32_t dropped() const { return m_dropped; }

 private:
  std::array<Attribute, k_inline> m_inline{};
  std::vector<Attribute> m_overflow;
  std::size_t m_size = 0;
  std::uint32_t m_dropped = 0;
};

// A finished span as exporters see it.
struct SpanData {
  SpanContext context;
  SpanId parent_span_id;  // all zero for a root span
  std::string name;
  Kind kind = Kind::internal;
  std::int64_t start_unix_nanos = 0;  // system clock
  std::int64_t end_unix_nanos = 0;    // system clock, never before start (if the clock steps back)
  AttributeList attributes;
  StatusCode status = StatusCode::unset;
  std::string status_message;  // set only with StatusCode::error
};

struct ExporterStats {
  std::uint64_t spans_exported = 0;   // in batches the receiver accepted (2xx)
  std::uint64_t spans_dropped = 0;    // never sent: queue full, submitted after shutdown, or
                                      // still queued at the shutdown deadline
  std::uint64_t spans_failed = 0;     // in batches whose export failed
  std::uint64_t export_failures = 0;  // failed exports (connect error, timeout, non-2xx)
  std::uint64_t queued = 0;           // waiting in the queue now
};

// Where ended spans go. Implementations are thread-safe.
class Exporter {
 public:
  virtual ~Exporter() = default;
  // Takes a finished span. Never blocks on I/O and never throws: a span that cannot be queued is
  // dropped and counted.
  virtual void submit(std::unique_ptr<SpanData> span) noexcept = 0;
  virtual ExporterStats stats() const = 0;
  // Exports what is queued, giving up at `deadline`, then stops; later submissions are dropped.
  // Idempotent.
  virtual void shutdown(std::chrono::steady_clock::time_point deadline) = 0;
};

class Span {
 public:
  Span() = default;  // inert, with an invalid context
  ~Span() {
    if (m_record) finish();
  }
  Span(Span&& other) noexcept
      : m_context(other.m_context),
        m_exporter(other.m_exporter),
        m_record(std::move(other.m_record)) {}
  // Ends the span being replaced.
  Span& operator=(Span&& other) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

  // The context to propagate (format_traceparent) and to parent child spans with. Valid for a
  // recording span and an unsampled one; for an inert span, the parent's context (possibly
  // invalid: then there is nothing to propagate). Unchanged by end().
  const SpanContext& context() const { return m_context; }
  // False for inert and unsampled spans and after end(): then every setter does nothing.
  bool recording() const { return m_record != nullptr; }

  // Sets (or replaces) an attribute. Integers are stored as int64 (an unsigned value above
  // INT64_MAX wraps).
  void set_attribute(std::string_view key, std::string_view value) {
    if (m_record) set_string(key, value);
  }
  void set_attribute(std::string_view key, const char* value) {
    if (m_record) set_string(key, value != nullptr ? std::string_view(value) : std::string_view());
  }
  void set_attribute(std::string_view key, bool value) {
    if (m_record) set_bool(key, value);
  }
  template <std::integral T>
  requires(!std::same_as<T, bool>) void set_attribute(std::string_view key, T value) {
    if (m_record) set_int(key, static_cast<std::int64_t>(value));
  }

  // Renames the span (e.g. once the request is routed: "GET .zip").
  void update_name(std::string_view name) {
    if (m_record) m_record->name.assign(name);
  }

  // OpenTelemetry rules: `unset` is ignored, `ok` is final, the message is kept only for `error`.
  void set_status(StatusCode code, std::string_view message = {}) {
    if (m_record) set_status_slow(code, message);
  }

  // Records the end time and hands the span to the exporter. Idempotent; the destructor calls it.
  void end() {
    if (m_record) finish();
  }

 private:
  friend class Tracer;

  void set_string(std::string_view key, std::string_view value);
  void set_int(std::string_view key, std::int64_t value);
  void set_bool(std::string_view key, bool value);
  void set_status_slow(StatusCode code, std::string_view message);
  void finish() noexcept;

  SpanContext m_context;
  Exporter* m_exporter = nullptr;
  std::unique_ptr<SpanData> m_record;  // null: not recording
};

// Which new traces are recorded (OpenTelemetry's built-in samplers). The default is
// "parentbased_always_on".
struct Sampler {
  enum class Root : std::uint8_t { always_on, always_off, trace_id_ratio };
  Root root = Root::always_on;  // for spans without a (valid) parent, or all when !parent_based
  bool parent_based = true;     // a span with a parent follows the parent's sampled flag
  double ratio = 1.0;           // trace_id_ratio: the fraction of trace ids sampled, in [0, 1]

  // Deterministic in the trace id: every service using the same ratio agrees on a trace.
  bool sample(const SpanContext* parent, const TraceId& trace_id) const;
};

class Tracer {
 public:
  Tracer() = default;  // disabled: inert spans
  // Enabled when `exporter` is not null. The exporter is shut down (with its own deadline) when
  // the Tracer is destroyed, unless shutdown() was called first.
  explicit Tracer(std::unique_ptr<Exporter> exporter, Sampler sampler = {});
  Tracer(Tracer&&) noexcept = default;
  Tracer& operator=(Tracer&&) noexcept = default;

  bool enabled() const { return m_exporter != nullptr; }

  // A span named `name` (copied), child of `parent` when that is non-null and valid: for a server
  // span, the context parsed from the request's traceparent (a remote parent); for others, the
  // context() of the enclosing span. Without a parent the span starts a new trace.
  Span start_span(std::string_view name, const SpanContext* parent = nullptr,
                  Kind kind = Kind::internal) const {
    Span span;  // one object, built in place in the caller (NRVO): the inert path copies once
    if (m_exporter) [[unlikely]] {
      start_enabled(span, name, parent, kind);
    } else if (parent != nullptr) {
      span.m_context = *parent;
    }
    return span;
  }

  // All zero when disabled.
  ExporterStats stats() const;
  // Flushes the exporter (see Exporter::shutdown); spans ended afterwards are dropped.
  void shutdown(std::chrono::steady_clock::time_point deadline);

 private:
  void start_enabled(Span& span, std::string_view name, const SpanContext* parent, Kind kind) const;

  std::unique_ptr<Exporter> m_exporter;
  Sampler m_sampler;
};

}  // namespace stoa::trace

#include "stoa/trace/otlp.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "stoa/curl/easy.hpp"
#include "stoa/curl/transfer.hpp"
#include "stoa/text/ascii.hpp"
#include "stoa/text/json.hpp"

namespace stoa::trace {
namespace {

// ---------------------------------------------------------------------------------------------
// JSON

using text::append_json_string;  // invalid UTF-8 as U+FFFD: a receiver rejects the request
                                 // otherwise

void append_decimal(std::string& out, std::int64_t v) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

// "<v>" as a JSON string: the protobuf JSON mapping writes 64-bit integers as strings.
void append_int64_string(std::string& out, std::int64_t v) {
  out += '"';
  append_decimal(out, v);
  out += '"';
}

void append_key(std::string& out, std::string_view key) {
  append_json_string(out, key);
  out += ':';
}

template <std::size_t N>
void append_hex_string(std::string& out, const std::array<std::uint8_t, N>& bytes) {
  out += '"';
  text::append_hex(out, bytes);
  out += '"';
}

void append_string_attribute(std::string& out, std::string_view key, std::string_view value) {
  out += "{\"key\":";
  append_json_string(out, key);
  out += ",\"value\":{\"stringValue\":";
  append_json_string(out, value);
  out += "}}";
}

void append_attribute(std::string& out, const Attribute& a) {
  out += "{\"key\":";
  append_json_string(out, a.key);
  out += ",\"value\":{";
  if (const auto* s = std::get_if<std::string>(&a.value)) {
    append_key(out, "stringValue");
    append_json_string(out, *s);
  } else if (const auto* i = std::get_if<std::int64_t>(&a.value)) {
    append_key(out, "intValue");
    append_int64_string(out, *i);
  } else {
    append_key(out, "boolValue");
    out += std::get<bool>(a.value) ? "true" : "false";
  }
  out += "}}";
}

int otlp_kind(Kind k) {
  switch (k) {
    case Kind::internal:
      return 1;  // SPAN_KIND_INTERNAL
    case Kind::server:
      return 2;  // SPAN_KIND_SERVER
    case Kind::client:
      return 3;  // SPAN_KIND_CLIENT
  }
  return 0;  // SPAN_KIND_UNSPECIFIED
}

void append_span(std::string& out, const SpanData& s) {
  out += "{\"traceId\":";
  append_hex_string(out, s.context.trace_id.bytes);
  out += ",\"spanId\":";
  append_hex_string(out, s.context.span_id.bytes);
  if (s.parent_span_id.valid()) {
    out += ",\"parentSpanId\":";
    append_hex_string(out, s.parent_span_id.bytes);
  }
  out += ",\"name\":";
  append_json_string(out, s.name);
  out += ",\"kind\":";
  append_decimal(out, otlp_kind(s.kind));
  out += ",\"startTimeUnixNano\":";
  append_int64_string(out, s.start_unix_nanos);
  out += ",\"endTimeUnixNano\":";
  append_int64_string(out, s.end_unix_nanos);
  out += ",\"attributes\":[";
  for (std::size_t i = 0; i < s.attributes.size(); ++i) {
    if (i > 0) out += ',';
    append_attribute(out, s.attributes[i]);
  }
  out += ']';
  if (s.attributes.dropped() > 0) {
    out += ",\"droppedAttributesCount\":";
    append_decimal(out, s.attributes.dropped());
  }
  if (s.status != StatusCode::unset) {
    out += ",\"status\":{\"code\":";
    out += s.status == StatusCode::ok ? '1' : '2';  // STATUS_CODE_OK, STATUS_CODE_ERROR
    if (!s.status_message.empty()) {
      out += ",\"message\":";
      append_json_string(out, s.status_message);
    }
    out += '}';
  }
  out += '}';
}

// ---------------------------------------------------------------------------------------------
// Time

std::int64_t steady_nanos(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// ---------------------------------------------------------------------------------------------
// The exporter

using Batch = std::vector<std::unique_ptr<SpanData>>;
using Clock = std::chrono::steady_clock;

class OtlpHttpExporter final : public Exporter {
 public:
  explicit OtlpHttpExporter(TraceOptions options)
      : m_options(std::move(options)), m_ring(m_options.queue_size) {
    curl::ensure_initialized();
    m_easy = curl::new_easy();
    curl::append(m_headers, "Content-Type: application/json");
    curl::append(m_headers, "Expect:");  // no 100-continue round trip for large batches
    for (const auto& [name, value] : m_options.headers) {
      // "Name:" with nothing after it would make libcurl remove the header; "Name;" sends it empty.
      curl::append(m_headers, value.empty() ? name + ";" : name + ": " + value);
    }
    CURL* h = m_easy.get();
    curl::set(h, CURLOPT_URL, m_options.endpoint.c_str());
    curl::set(h, CURLOPT_POST, 1L);
    curl::set(h, CURLOPT_HTTPHEADER, m_headers.get());
    curl::set(h, CURLOPT_USERAGENT, m_user_agent.c_str());
    // The collector is one endpoint the operator chose: a redirect is a failed export, never a
    // hop elsewhere (spans name modules, so they go only where configured).
    curl::set(h, CURLOPT_FOLLOWLOCATION, 0L);
    m_batch.reserve(m_options.max_batch);
    m_thread = std::thread([this] { run(); });
  }

  ~OtlpHttpExporter() override { shutdown(Clock::now() + m_options.export_timeout); }

  OtlpHttpExporter(const OtlpHttpExporter&) = delete;
  OtlpHttpExporter& operator=(const OtlpHttpExporter&) = delete;

  void submit(std::unique_ptr<SpanData> span) noexcept override {
    if (!span) return;
    bool wake = false;
    {
      std::lock_guard lock(m_mutex);
      if (!m_stopping && m_count < m_ring.size()) {
        std::size_t slot = m_head + m_count;
        if (slot >= m_ring.size()) slot -= m_ring.size();
        m_ring[slot] = std::move(span);
        ++m_count;
        wake = m_count == m_options.max_batch;
      }
    }
    if (span) {
      m_dropped.fetch_add(1, std::memory_order_relaxed);
      return;  // the span is freed here, outside the lock
    }
    if (wake) m_wake.notify_one();
  }

  ExporterStats stats() const override {
    ExporterStats s;
    s.spans_exported = m_exported.load(std::memory_order_relaxed);
    s.spans_dropped = m_dropped.load(std::memory_order_relaxed);
    s.spans_failed = m_failed_spans.load(std::memory_order_relaxed);
    s.export_failures = m_failures.load(std::memory_order_relaxed);
    std::lock_guard lock(m_mutex);
    s.queued = m_count;
    return s;
  }

  void shutdown(Clock::time_point deadline) override {
    {
      std::lock_guard lock(m_mutex);
      if (!m_stopping) {
        m_stopping = true;
        m_deadline = deadline;
        m_abort_at.store(steady_nanos(deadline), std::memory_order_relaxed);
      }
    }
    m_wake.notify_all();
    std::lock_guard join(m_join_mutex);
    if (m_thread.joinable()) m_thread.join();
  }

 private:
  // Polled during a POST (often, and about once a second while it waits): ends a POST in flight
  // at the shutdown deadline.
  bool past_deadline() const {
    return steady_nanos(Clock::now()) >= m_abort_at.load(std::memory_order_relaxed);
  }

  // Moves up to max_batch queued spans into m_batch. Called with m_mutex held.
  void take_batch() {
    const std::size_t n = std::min(m_count, m_options.max_batch);
    for (std::size_t i = 0; i < n; ++i) {
      m_batch.push_back(std::move(m_ring[m_head]));
      if (++m_head == m_ring.size()) m_head = 0;
    }
    m_count -= n;
  }

  void run() {
    const auto delay = m_options.schedule_delay;
    auto next_tick = Clock::now() + delay;
    auto not_before = Clock::time_point::min();  // after a failed export: no export before this
    std::unique_lock lock(m_mutex);
    while (true) {
      const bool backing_off = Clock::now() < not_before;
      m_wake.wait_until(lock, backing_off ? not_before : next_tick, [&] {
        return m_stopping || (!backing_off && m_count >= m_options.max_batch);
      });
      if (m_stopping) break;
      const auto now = Clock::now();
      if (now < not_before) continue;
      if (now >= next_tick) {
        next_tick = now + delay;
      } else if (m_count < m_options.max_batch) {
        continue;  // a backoff ended before the tick: wait for the tick or a full batch
      }
      take_batch();
      if (m_batch.empty()) continue;
      lock.unlock();
      const bool ok = export_batch(m_options.export_timeout);
      lock.lock();
      if (!ok) not_before = Clock::now() + delay;
    }

    // Shutting down: send what is queued until the deadline, drop the rest.
    while (m_count > 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(m_deadline - Clock::now());
      if (left <= std::chrono::milliseconds(0)) break;
      take_batch();
      lock.unlock();
      export_batch(std::min(left, m_options.export_timeout));
      lock.lock();
    }
    m_dropped.fetch_add(m_count, std::memory_order_relaxed);
    Batch rest;
    while (m_count > 0) {
      rest.push_back(std::move(m_ring[m_head]));
      if (++m_head == m_ring.size()) m_head = 0;
      --m_count;
    }
    lock.unlock();  // `rest` is freed outside the lock
  }

  // POSTs m_batch and empties it; true when the receiver accepted it.
  bool export_batch(std::chrono::milliseconds timeout) {
    const std::size_t n = m_batch.size();
    std::string error;
    bool ok = false;
    try {
      m_body.clear();
      append_export_request(m_body, m_options, m_batch);
      m_batch.clear();
      ok = post(timeout, error);
    } catch (const std::exception& e) {  // std::bad_alloc, or from libcurl option setting
      m_batch.clear();
      error = e.what();
    }
    if (ok) {
      m_exported.fetch_add(n, std::memory_order_relaxed);
    } else {
      m_failed_spans.fetch_add(n, std::memory_order_relaxed);
      m_failures.fetch_add(1, std::memory_order_relaxed);
    }
    report(ok, error, n);
    return ok;
  }

  // POSTs m_body; false with `error` set when it was not accepted.
  bool post(std::chrono::milliseconds timeout, std::string& error) {
    CURL* h = m_easy.get();
    curl::set(h, CURLOPT_POSTFIELDS, static_cast<const char*>(m_body.data()));
    curl::set(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(m_body.size()));
    const std::chrono::milliseconds limit(std::max<std::int64_t>(1, timeout.count()));
    curl::Options options;
    options.limits = {limit, limit, std::chrono::milliseconds(0)};
    options.accept = &curl::any_2xx;
    options.abort = [this] { return past_deadline(); };
    curl::DiscardSink sink;
    const curl::Result r = curl::perform(h, sink, options);
    if (r.stop == curl::Stop::aborted) {
      error = "aborted at the shutdown deadline";
      return false;
    }
    if (!r.answered()) {
      error = r.error;
      return false;
    }
    const long status = r.response.status;
    if (status < 200 || status > 299) {
      error = "HTTP status ";
      error += std::to_string(status);
      return false;
    }
    return true;
  }

  // Tells on_error when exports start failing, every minute while they fail, and when they work
  // again. Exporter thread only.
  void report(bool ok, const std::string& error, std::size_t spans) {
    if (!m_options.on_error) return;
    const auto now = Clock::now();
    std::string message;
    if (ok) {
      if (!m_failing) return;
      m_failing = false;
      message = "trace export works again";
    } else {
      ++m_unreported_failures;
      if (m_failing && now - m_last_report < std::chrono::minutes(1)) return;
      message = "trace export failed (";
      message += error;
      message += "); ";
      message += std::to_string(spans);
      message += " spans lost";
      if (m_unreported_failures > 1) {
        message += ", ";
        message += std::to_string(m_unreported_failures);
        message += " failed exports since the last report";
      }
      m_failing = true;
      m_last_report = now;
      m_unreported_failures = 0;
    }
    try {
      m_options.on_error(message);
    } catch (...) {
      // A reporting failure must not end the exporter thread.
    }
  }

  const TraceOptions m_options;
  const std::string m_user_agent = "stoa/" + m_options.service_version;
  curl::Easy m_easy;
  curl::Slist m_headers;
  std::string m_body;  // exporter thread only; reused
  Batch m_batch;       // exporter thread only

  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::vector<std::unique_ptr<SpanData>> m_ring;  // queue_size slots
  std::size_t m_head = 0;
  std::size_t m_count = 0;
  bool m_stopping = false;
  Clock::time_point m_deadline{};
  std::atomic<std::int64_t> m_abort_at{std::numeric_limits<std::int64_t>::max()};

  std::atomic<std::uint64_t> m_exported{0};
  std::atomic<std::uint64_t> m_dropped{0};
  std::atomic<std::uint64_t> m_failed_spans{0};
  std::atomic<std::uint64_t> m_failures{0};

  bool m_failing = false;  // exporter thread only, for report()
  std::uint64_t m_unreported_failures = 0;
  Clock::time_point m_last_report{};

  std::mutex m_join_mutex;
  std::thread m_thread;  // last: started once everything above is ready
};

}  // namespace

void append_export_request(std::string& out, const TraceOptions& resource,
                           std::span<const std::unique_ptr<SpanData>> spans) {
  out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
  append_string_attribute(out, "service.name", resource.service_name);
  out += ',';
  append_string_attribute(out, "service.version", resource.service_version);
  for (const auto& [key, value] : resource.resource_attributes) {
    out += ',';
    append_string_attribute(out, key, value);
  }
  out += "]},\"scopeSpans\":[{\"scope\":{\"name\":\"stoa\",\"version\":";
  append_json_string(out, resource.service_version);
  out += "},\"spans\":[";
  bool first = true;
  for (const auto& span : spans) {
    if (!span) continue;
    if (!first) out += ',';
    first = false;
    append_span(out, *span);
  }
  out += "]}]}]}";
}

std::unique_ptr<Exporter> make_otlp_http_exporter(TraceOptions options) {
  validate(options);
  if (options.endpoint.empty()) throw std::invalid_argument("trace endpoint: none configured");
  return std::make_unique<OtlpHttpExporter>(std::move(options));
}

Tracer make_tracer(TraceOptions options) {
  validate(options);
  if (!options.enabled()) return Tracer();
  const Sampler sampler = options.sampler;
  return Tracer(make_otlp_http_exporter(std::move(options)), sampler);
}

}  // namespace stoa::trace

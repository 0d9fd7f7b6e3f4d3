#include "stoa/trace/tracer.hpp"

#include <algorithm>

namespace stoa::trace {
namespace {

// The system clock, as OTLP wants, read once at each end of a span.
std::int64_t unix_nanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Attribute* AttributeList::slot(std::string_view key) {
  for (std::size_t i = 0; i < m_size; ++i) {
    Attribute& a = i < k_inline ? m_inline[i] : m_overflow[i - k_inline];
    if (a.key == key) return &a;
  }
  if (m_size == k_max) {
    ++m_dropped;
    return nullptr;
  }
  Attribute* a = nullptr;
  if (m_size < k_inline) {
    a = &m_inline[m_size];
  } else {
    a = &m_overflow.emplace_back();
  }
  ++m_size;
  a->key.assign(key);
  return a;
}

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    end();
    m_context = other.m_context;
    m_exporter = other.m_exporter;
    m_record = std::move(other.m_record);
  }
  return *this;
}

void Span::set_string(std::string_view key, std::string_view value) {
  if (Attribute* a = m_record->attributes.slot(key)) {
    if (auto* s = std::get_if<std::string>(&a->value)) {
      s->assign(value);
    } else {
      a->value.emplace<std::string>(value);
    }
  }
}

void Span::set_int(std::string_view key, std::int64_t value) {
  if (Attribute* a = m_record->attributes.slot(key)) a->value = value;
}

void Span::set_bool(std::string_view key, bool value) {
  if (Attribute* a = m_record->attributes.slot(key)) a->value = value;
}

void Span::set_status_slow(StatusCode code, std::string_view message) {
  SpanData& d = *m_record;
  if (code == StatusCode::unset || d.status == StatusCode::ok) return;
  d.status = code;
  if (code == StatusCode::error) {
    d.status_message.assign(message);
  } else {
    d.status_message.clear();
  }
}

void Span::finish() noexcept {
  m_record->end_unix_nanos = std::max(unix_nanos(), m_record->start_unix_nanos);
  m_exporter->submit(std::move(m_record));
}

bool Sampler::sample(const SpanContext* parent, const TraceId& trace_id) const {
  if (parent_based && parent != nullptr) return parent->sampled();
  switch (root) {
    case Root::always_on:
      return true;
    case Root::always_off:
      return false;
    case Root::trace_id_ratio:
      break;
  }
  if (!(ratio > 0)) return false;  // NaN included
  if (ratio >= 1) return true;
  // The last 7 bytes of the id: random in every trace id (W3C Trace Context Level 2).
  std::uint64_t low = 0;
  for (std::size_t i = 9; i < 16; ++i) low = (low << 8) | trace_id.bytes[i];
  constexpr double k_range = 72057594037927936.0;  // 2^56
  return static_cast<double>(low) < ratio * k_range;
}

Tracer::Tracer(std::unique_ptr<Exporter> exporter, Sampler sampler)
    : m_exporter(std::move(exporter)), m_sampler(sampler) {}

void Tracer::start_enabled(Span& span, std::string_view name, const SpanContext* parent,
                           Kind kind) const {
  if (parent != nullptr && !parent->valid()) parent = nullptr;
  span.m_context.trace_id = parent != nullptr ? parent->trace_id : random_trace_id();
  span.m_context.span_id = random_span_id();
  if (!m_sampler.sample(parent, span.m_context.trace_id)) return;  // unsampled: flags 00

  span.m_context.flags = SpanContext::k_sampled;
  auto record = std::make_unique<SpanData>();
  record->context = span.m_context;
  if (parent != nullptr) record->parent_span_id = parent->span_id;
  record->name.assign(name);
  record->kind = kind;
  record->start_unix_nanos = unix_nanos();
  span.m_exporter = m_exporter.get();
  span.m_record = std::move(record);
}

ExporterStats Tracer::stats() const { return m_exporter ? m_exporter->stats() : ExporterStats{}; }

void Tracer::shutdown(std::chrono::steady_clock::time_point deadline) {
  if (m_exporter) m_exporter->shutdown(deadline);
}

}  // namespace stoa::trace

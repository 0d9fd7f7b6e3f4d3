#pragma once
// A span exporter for tests that keeps every finished span in a vector the test owns.
// Test-only; not thread-safe (a test ends its spans on its own thread).

#include <memory>
#include <vector>

#include "stoa/trace/tracer.hpp"

namespace stoa::http::testing {

class KeptSpans final : public trace::Exporter {
 public:
  explicit KeptSpans(std::vector<std::unique_ptr<trace::SpanData>>& spans) : m_spans(spans) {}
  void submit(std::unique_ptr<trace::SpanData> span) noexcept override {
    m_spans.push_back(std::move(span));
  }
  trace::ExporterStats stats() const override { return {}; }
  void shutdown(std::chrono::steady_clock::time_point) override {}

 private:
  std::vector<std::unique_ptr<trace::SpanData>>& m_spans;
};

}  // namespace stoa::http::testing

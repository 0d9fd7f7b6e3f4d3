#include "stoa/http/observe.hpp"

#include <spdlog/spdlog.h>

#include "stoa/http/access_log.hpp"

namespace stoa::http {
namespace {

void end_span(Exchange& x) {
  trace::Span& span = x.span;
  if (span.recording()) {
    const proxy::Response& resp = x.response;
    span.update_name(std::string(x.request.method) + " " + std::string(resp.endpoint));
    span.set_attribute("http.request.method", x.request.method);
    span.set_attribute("url.path", x.request.target);
    span.set_attribute("http.response.status_code", static_cast<std::int64_t>(resp.status));
    span.set_attribute("stoa.outcome", proxy::to_string(resp.outcome));
    span.set_attribute("stoa.request_id", x.id);
    if (resp.status >= 500) span.set_status(trace::StatusCode::error, x.error);
  }
  span.end();
}

}  // namespace

Observer::Observer(metrics::Registry& registry, std::shared_ptr<spdlog::logger> access_log,
                   LogFormat format)
    : m_metrics(registry), m_access(std::move(access_log)), m_format(format) {}

Observer::Connection::Connection(Observer& observer) : m_open(observer.m_metrics.connections()) {
  m_open.add(1);
  observer.m_metrics.accepted().inc();
}

Observer::Connection::~Connection() { m_open.add(-1); }

void Observer::observe(Exchange& x, std::string_view remote) {
  const auto elapsed = std::chrono::steady_clock::now() - x.started;
  end_span(x);
  // A request refused before it was parsed (400, 431) has no trace id yet.
  if (x.request.log.trace_id.empty()) x.request.log.trace_id = trace::random_trace_id().hex();
  const proxy::Response& resp = x.response;
  m_metrics.record(resp.endpoint, resp.status, resp.outcome,
                   std::chrono::duration<double>(elapsed).count(), x.body_bytes);
  if (!m_access) return;
  const proxy::HttpRequest& req = x.request;
  AccessRecord rec;
  rec.request_id = x.id;
  rec.remote = remote;
  rec.method = req.method.empty() ? std::string_view("-") : std::string_view(req.method);
  rec.target = req.target.empty() ? std::string_view("-") : std::string_view(req.target);
  rec.status = resp.status;
  rec.bytes = x.body_bytes;
  rec.duration = std::chrono::duration_cast<std::chrono::microseconds>(elapsed);
  rec.outcome = resp.outcome;
  rec.error = x.error;
  rec.trace_id = req.log.trace_id;
  m_access->info(
      format_access(rec, m_format, format_log_timestamp(std::chrono::system_clock::now())));
}

}  // namespace stoa::http

#include "stoa/proxy/stored.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <utility>

#include "stoa/proxy/conditional.hpp"
#include "stoa/proxy/failure.hpp"

namespace stoa::proxy {

using module::Kind;

std::string_view content_type_of(Kind k) {
  switch (k) {
    case Kind::info:
    case Kind::latest:
      return "application/json";
    case Kind::zip:
      return "application/zip";
    case Kind::list:
    case Kind::mod:
      break;
  }
  return "text/plain; charset=utf-8";
}

std::string_view immutable_cache(Audience a) {
  return a == Audience::shared ? k_immutable : k_immutable_private;
}

Response serve_object(const HttpRequest& req, store::Object obj, std::string_view content_type,
                      Outcome outcome, Audience audience) {
  Response r;
  r.outcome = outcome;
  r.content_type = content_type;
  r.cache_control = immutable_cache(audience);
  r.etag = obj.etag;
  r.headers.emplace_back("Last-Modified", http_date(obj.mtime_unix));
  r.headers.emplace_back("Accept-Ranges", "bytes");
  if (if_none_match_matches(req.if_none_match, obj.etag)) {
    r.status = 304;
    return r;
  }
  const std::uint64_t size = obj.size;
  const RangeDecision d = decide_range(req.range, req.if_range, obj.etag, size);
  switch (d.verdict) {
    case RangeVerdict::unsatisfiable:
      r.status = 416;
      r.content_type = "text/plain; charset=utf-8";
      r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
      return r;
    case RangeVerdict::partial:
      r.status = 206;
      r.headers.emplace_back("Content-Range",
                             "bytes " + std::to_string(d.range.offset) + "-" +
                                 std::to_string(d.range.offset + d.range.length - 1) + "/" +
                                 std::to_string(size));
      r.offset = d.range.offset;
      r.length = d.range.length;
      break;
    case RangeVerdict::full:
      r.offset = 0;
      r.length = size;
      break;
  }
  r.object = std::move(obj);
  return r;
}

namespace {

Response hot_response(const HttpRequest& req, const std::shared_ptr<const HotEntry>& e) {
  Response r;
  r.outcome = Outcome::hit;
  r.endpoint = e->endpoint;
  r.head_lines = std::shared_ptr<const std::string>(e, &e->head_lines);
  if (!req.if_none_match.empty() && if_none_match_matches(req.if_none_match, e->etag)) {
    r.status = 304;
    return r;
  }
  const std::uint64_t size = e->body->size();
  r.object = store::Object{size, e->mtime_unix, {}, e->body};
  r.offset = 0;
  r.length = size;
  return r;
}

}  // namespace

StoredFiles::StoredFiles(store::Store& store, HotCache& hot, store::Redirector* zip_redirector,
                         const trace::Tracer& tracer, metrics::Histogram& get_seconds)
    : m_store(store),
      m_hot(hot),
      m_redirector(zip_redirector),
      m_tracer(tracer),
      m_get_seconds(get_seconds) {}

std::optional<Response> StoredFiles::hot(const HttpRequest& req) const {
  if (!req.range.empty()) return std::nullopt;
  auto e = m_hot.find(req.target);
  if (!e) return std::nullopt;
  return hot_response(req, e);
}

std::optional<Response> StoredFiles::file(const HttpRequest& req, const module::Request& r,
                                          Audience audience) {
  const std::string key = module::key_of(r);
  if (r.kind == Kind::zip && m_redirector != nullptr) {
    trace::Span span = m_tracer.start_span("store.locate", &req.trace);
    auto url = m_redirector->locate(key);
    if (!url) return std::nullopt;
    Response resp = text_answer(302, "", Outcome::hit);  // no-store: the URL expires
    resp.headers.emplace_back("Location", std::move(*url));
    return resp;
  }
  const bool shared = audience == Audience::shared;
  if (req.range.empty()) {
    // An entry made for the other audience (a policy reload restricted the module, or lifted
    // a restriction) is not this answer; the file is served from the store instead.
    if (auto e = m_hot.find(req.target); e && e->shared == shared) return hot_response(req, e);
  }
  trace::Span span = m_tracer.start_span("store.get", &req.trace);
  const auto t0 = std::chrono::steady_clock::now();
  auto found = m_store.get(key);
  m_get_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (!found) return std::nullopt;
  if (found->size <= m_hot.max_object_bytes() && m_hot.enabled() && req.range.empty()) {
    if (auto e = make_hot(r, *found, audience)) {
      m_hot.insert(req.target, e);
      return hot_response(req, e);
    }
  }
  return serve_object(req, std::move(*found), content_type_of(r.kind), Outcome::hit, audience);
}

std::shared_ptr<const HotEntry> StoredFiles::make_hot(const module::Request& r, store::Object& obj,
                                                      Audience audience) const {
  if (r.kind != Kind::info && r.kind != Kind::mod && r.kind != Kind::zip) return nullptr;
  auto e = std::make_shared<HotEntry>();
  if (auto* bytes = std::get_if<std::shared_ptr<const std::string>>(&obj.body)) {
    e->body = *bytes;
  } else {
    const int fd = std::get<fsio::UniqueFd>(obj.body).get();
    std::string body(obj.size, '\0');
    std::size_t done = 0;
    while (done < body.size()) {
      const ssize_t n =
          ::pread(fd, body.data() + done, body.size() - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return nullptr;  // unreadable or shorter than its size: serve it the slow way
      done += static_cast<std::size_t>(n);
    }
    e->body = std::make_shared<const std::string>(std::move(body));
  }
  e->etag = obj.etag;
  e->mtime_unix = obj.mtime_unix;
  e->endpoint = endpoint_of(r);
  e->shared = audience == Audience::shared;
  std::string& h = e->head_lines;
  h.append("Content-Type: ").append(content_type_of(r.kind)).append("\r\n");
  h.append("Cache-Control: ").append(immutable_cache(audience)).append("\r\n");
  h.append("ETag: ").append(obj.etag).append("\r\n");
  h.append("Last-Modified: ").append(http_date(obj.mtime_unix)).append("\r\n");
  h.append("Accept-Ranges: bytes\r\n");
  return e;
}

}  // namespace stoa::proxy

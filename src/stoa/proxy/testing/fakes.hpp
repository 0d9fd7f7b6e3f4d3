#pragma once
// Fakes for the proxy's tests: a scripted upstream, a sink collecting responses delivered from any
// thread, and small request/response helpers. Test code only.

#include <gtest/gtest.h>

#include <unistd.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/fetch/upstream.hpp"
#include "stoa/proxy/response.hpp"

namespace stoa::proxy::fakes {

using fetch::Status;

inline HttpRequest make_request(std::string method, std::string target) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  return r;
}

// An upstream with scripted answers per suffix, a hit counter, and an optional gate that holds
// every get() until released. (The real libcurl upstream is tested in fetch/ and end to end.)
class ScriptedUpstream final : public fetch::Upstream {
 public:
  struct Answer {
    Status status = Status::ok;
    std::string body;
    bool timed_out = false;
  };

  void set(const std::string& suffix, Answer a) {
    std::lock_guard l(m_mutex);
    m_answers[suffix] = std::move(a);
  }
  int hits(const std::string& suffix) {
    std::lock_guard l(m_mutex);
    return m_hits[suffix];
  }
  void close_gate() {
    std::lock_guard l(m_mutex);
    m_gate_open = false;
  }
  void open_gate() {
    {
      std::lock_guard l(m_mutex);
      m_gate_open = true;
    }
    m_cv.notify_all();
  }

  using fetch::Upstream::get;
  fetch::Outcome get(const std::string& suffix, fsio::TempFile& out, std::uint64_t max,
                     const Headers& headers) override {
    last_headers = headers;
    std::string body;
    auto o = get(suffix, body, max, headers);
    if (o.status == Status::ok) out.write(body);
    return o;
  }
  fetch::Outcome get(const std::string& suffix, std::string& out, std::uint64_t max,
                     const Headers& headers) override {
    last_headers = headers;
    std::unique_lock l(m_mutex);
    ++m_hits[suffix];
    m_cv.wait(l, [&] { return m_gate_open; });
    auto it = m_answers.find(suffix);
    if (it == m_answers.end()) return {Status::not_found, 404, false, "no such thing"};
    const Answer& a = it->second;
    if (a.status != Status::ok)
      return {a.status, a.status == Status::not_found ? 404 : 500, a.timed_out, "scripted"};
    if (a.body.size() > max) return {Status::failed, 200, false, "too large"};
    out = a.body;
    return {Status::ok, 200, false, {}};
  }

 public:
  Headers last_headers;  // of the latest call

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_gate_open = true;
  std::map<std::string, Answer> m_answers;
  std::map<std::string, int> m_hits;
};

// Collects responses delivered from any thread.
class Responses {
 public:
  std::function<void(Response)> sink() {
    // Notified under the lock: a waiter that finds its answer without waiting returns and may
    // destroy this object at once, so nothing here may touch it after the unlock (a notify after
    // it hung the test process on a destroyed condition variable).
    return [this](Response r) {
      std::lock_guard l(m_mutex);
      m_got.push_back(std::move(r));
      m_cv.notify_all();
    };
  }
  std::vector<Response>& wait_for(std::size_t n) {
    std::unique_lock l(m_mutex);
    m_cv.wait(l, [&] { return m_got.size() >= n; });
    return m_got;
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::vector<Response> m_got;
};

inline std::string body_of(const Response& r) {
  if (!r.object) return r.body;
  if (auto* b = std::get_if<std::shared_ptr<const std::string>>(&r.object->body)) {
    return (*b)->substr(r.offset, r.length);
  }
  std::string s(r.length, '\0');
  EXPECT_EQ(::pread(std::get<fsio::UniqueFd>(r.object->body).get(), s.data(), s.size(),
                    static_cast<off_t>(r.offset)),
            static_cast<ssize_t>(s.size()));
  return s;
}

// Every header a response carries, however it was built (fields, extra headers or the memory
// cache's prebuilt lines).
inline std::map<std::string, std::string> header_map(const Response& r) {
  std::map<std::string, std::string> h;
  if (!r.content_type.empty()) h["Content-Type"] = r.content_type;
  if (!r.cache_control.empty()) h["Cache-Control"] = r.cache_control;
  if (!r.etag.empty()) h["ETag"] = r.etag;
  for (const auto& [k, v] : r.headers) h[k] = v;
  if (r.head_lines) {
    std::string_view rest = *r.head_lines;
    while (!rest.empty()) {
      const auto eol = rest.find("\r\n");
      const auto line = rest.substr(0, eol);
      const auto colon = line.find(": ");
      EXPECT_EQ(h.count(std::string(line.substr(0, colon))), 0u) << line;
      h[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 2));
      rest.remove_prefix(eol + 2);
    }
  }
  return h;
}

}  // namespace stoa::proxy::fakes

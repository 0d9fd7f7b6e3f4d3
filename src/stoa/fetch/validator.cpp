#include "stoa/fetch/validator.hpp"

#include <fmt/format.h>

#include "stoa/fetch/curl_handles.hpp"
#include "stoa/fetch/wire.hpp"
#include "stoa/text/json.hpp"

namespace stoa::fetch {
namespace {

using namespace curl;

constexpr std::size_t k_max_answer = 4096;

using text::append_json_string;

struct Answer {
  std::string body;
  std::string content_type;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* a = static_cast<Answer*>(user);
  const std::size_t len = size * n;
  const std::size_t room = k_max_answer - std::min(k_max_answer, a->body.size());
  a->body.append(data, std::min(len, room));
  return len;
}

class HttpValidator final : public Validator {
 public:
  HttpValidator(std::string url, std::chrono::milliseconds timeout)
      : m_url(std::move(url)), m_timeout(timeout) {
    ensure_curl_initialized();
  }

  ValidationVerdict check(const ValidationRequest& req) override {
    const std::string body = validation_body(req);
    Easy h = new_easy();
    Answer answer;
    Slist headers(curl_slist_append(nullptr, "Content-Type: application/json"));
    set(h.get(), CURLOPT_URL, m_url.c_str());
    set(h.get(), CURLOPT_NOSIGNAL, 1L);
    set(h.get(), CURLOPT_POST, 1L);
    set(h.get(), CURLOPT_POSTFIELDS, body.c_str());
    set(h.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    set(h.get(), CURLOPT_HTTPHEADER, headers.get());
    set(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(m_timeout.count()));
    set(h.get(), CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(m_timeout.count()));
    set(h.get(), CURLOPT_WRITEFUNCTION, &on_body);
    set(h.get(), CURLOPT_WRITEDATA, static_cast<void*>(&answer));
    set(h.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    // One endpoint the operator chose: a redirect is an answer other than 200/403 (an error),
    // never a hop to somewhere else (egress.hpp explains why stoa's clients distrust redirects).
    set(h.get(), CURLOPT_FOLLOWLOCATION, 0L);
    set(h.get(), CURLOPT_USERAGENT, "stoa-validator");
    const CURLcode rc = curl_easy_perform(h.get());
    if (rc != CURLE_OK) {
      return {ValidationVerdict::Decision::error,
              std::string("validator unreachable: ") + curl_easy_strerror(rc)};
    }
    long status = 0;
    curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
    char* type = nullptr;
    curl_easy_getinfo(h.get(), CURLINFO_CONTENT_TYPE, &type);
    if (status == 200) return {ValidationVerdict::Decision::allow, {}};
    if (status == 403) {
      auto why = error_detail(type != nullptr ? type : "", answer.body, 256);
      return {ValidationVerdict::Decision::deny, why.value_or("denied by policy")};
    }
    return {ValidationVerdict::Decision::error, fmt::format("validator answered HTTP {}", status)};
  }

 private:
  std::string m_url;
  std::chrono::milliseconds m_timeout;
};

}  // namespace

std::string validation_body(const ValidationRequest& req) {
  std::string out = R"({"module":)";
  append_json_string(out, req.module);
  out += R"(,"version":)";
  append_json_string(out, req.version);
  out += R"(,"kind":)";
  append_json_string(out, req.kind);
  out += fmt::format(R"(,"size":{},"h1":)", req.size);
  append_json_string(out, req.h1);
  out += '}';
  return out;
}

std::unique_ptr<Validator> make_http_validator(std::string url, std::chrono::milliseconds timeout) {
  return std::make_unique<HttpValidator>(std::move(url), timeout);
}

}  // namespace stoa::fetch

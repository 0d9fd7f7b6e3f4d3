#include "stoa/fetch/validator.hpp"

#include <fmt/format.h>

#include "stoa/curl/easy.hpp"
#include "stoa/curl/transfer.hpp"
#include "stoa/fetch/wire.hpp"
#include "stoa/text/json.hpp"

namespace stoa::fetch {
namespace {

constexpr std::size_t k_max_answer = 4096;

using text::append_json_string;

class HttpValidator final : public Validator {
 public:
  HttpValidator(std::string url, std::chrono::milliseconds timeout)
      : m_url(std::move(url)), m_timeout(timeout) {
    curl::ensure_initialized();
  }

  ValidationVerdict check(const ValidationRequest& req) override {
    const std::string body = validation_body(req);
    curl::Easy h = curl::new_easy();
    curl::Slist headers;
    curl::append(headers, "Content-Type: application/json");
    curl::set(h.get(), CURLOPT_URL, m_url.c_str());
    curl::set(h.get(), CURLOPT_POST, 1L);
    curl::set(h.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl::set(h.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl::set(h.get(), CURLOPT_HTTPHEADER, headers.get());
    // One endpoint the operator chose: a redirect is an answer other than 200/403 (an error),
    // never a hop to somewhere else (egress.hpp explains why stoa's clients distrust redirects).
    curl::set(h.get(), CURLOPT_FOLLOWLOCATION, 0L);
    curl::set(h.get(), CURLOPT_USERAGENT, "stoa-validator");
    curl::Options options;
    options.limits = {m_timeout, m_timeout, std::chrono::milliseconds(0)};
    options.error_capture = k_max_answer;
    curl::DiscardSink sink;  // a 200's body says nothing
    const curl::Result r = curl::perform(h.get(), sink, options);
    if (!r.answered()) {
      return {ValidationVerdict::Decision::error,
              std::string("validator unreachable: ") + curl_easy_strerror(r.code)};
    }
    const long status = r.response.status;
    if (status == 200) return {ValidationVerdict::Decision::allow, {}};
    if (status == 403) {
      const std::string* type = r.response.header("content-type");
      auto why = error_detail(type != nullptr ? *type : "", r.response.error_body, 256);
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

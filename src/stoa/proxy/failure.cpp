#include "stoa/proxy/failure.hpp"

#include <utility>

namespace stoa::proxy {

using Status = FetchResult::Status;
using module::Kind;

int status_for(Status s) {
  switch (s) {
    case Status::ok:
      return 200;
    case Status::not_found:
      return 404;
    case Status::forbidden:
      return 403;
    case Status::timed_out:
      return 504;
    case Status::busy:
    case Status::unavailable:
    case Status::store_error:
      return 503;
    case Status::failed:
    case Status::invalid:
      break;
  }
  return 502;
}

FetchResult result_of(const fetch::Outcome& o) {
  switch (o.status) {
    case fetch::Status::ok:
      return {Status::ok, {}, {}, {}};
    case fetch::Status::not_found:
      return {Status::not_found, o.message, {}, {}};
    case fetch::Status::failed:
      break;
  }
  // An upstream's deliberate refusal is its policy, not an outage: the client hears it as such.
  if (o.http_status == 403) return {Status::forbidden, o.message, {}, {}};
  return {o.timed_out ? Status::timed_out : Status::failed, o.message, {}, {}};
}

std::string describe(const module::Request& r) {
  return r.version.empty() ? r.module : r.module + "@" + r.version;
}

std::string_view endpoint_of(const module::Request& r) {
  if (r.kind == Kind::info && !r.canonical) return "query";
  switch (r.kind) {
    case Kind::list:
      return "list";
    case Kind::info:
      return "info";
    case Kind::mod:
      return "mod";
    case Kind::zip:
      return "zip";
    case Kind::latest:
      return "latest";
  }
  return "other";
}

std::string_view result_label(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::not_found:
      return "not_found";
    case Status::forbidden:
      return "forbidden";
    case Status::failed:
      return "failed";
    case Status::timed_out:
      return "timed_out";
    case Status::invalid:
      return "invalid";
    case Status::busy:
      return "busy";
    case Status::unavailable:
      return "unavailable";
    case Status::store_error:
      return "store_error";
  }
  return "unknown";
}

Response failure(const module::Request& r, const FetchResult& res) {
  const int status = status_for(res.status);
  std::string msg;
  switch (res.status) {
    case Status::not_found:
      msg = "not found: " + describe(r) + (res.message.empty() ? "" : ": " + res.message);
      return error_response(status, std::move(msg), Outcome::not_found);
    case Status::forbidden:
      msg = "forbidden: " + describe(r);
      break;
    case Status::unavailable:
      msg = "cannot check " + describe(r) + " against policy now; retry shortly";
      break;
    case Status::timed_out:
      msg = "upstream timed out fetching " + describe(r);
      break;
    case Status::invalid:
      msg = "upstream served invalid data for " + describe(r);
      break;
    case Status::busy:
      msg = "stoa is busy fetching other modules; retry shortly";
      break;
    case Status::store_error:
      msg = "storage error serving " + describe(r);
      break;
    case Status::failed:
    case Status::ok:
      msg = "upstream failed fetching " + describe(r);
      break;
  }
  if (!res.message.empty()) msg += ": " + res.message;
  Response resp = error_response(status, std::move(msg), Outcome::failed);
  if (res.status == Status::busy || res.status == Status::unavailable) {
    resp.headers.emplace_back("Retry-After", "1");
  }
  return resp;
}

Response text_answer(int status, std::string body, Outcome outcome) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.cache_control = "no-store";
  r.body = std::move(body);
  r.outcome = outcome;
  return r;
}

Response not_found_answer(const module::Request& r) {
  return error_response(404, "not found: " + describe(r), Outcome::not_found);
}

Response retry_answer(std::string message) {
  Response resp = error_response(503, std::move(message), Outcome::failed);
  resp.headers.emplace_back("Retry-After", "1");
  return resp;
}

Response storage_error_answer() {
  return error_response(503, "storage error; retry shortly", Outcome::failed);
}

}  // namespace stoa::proxy

#include "stoa/curl/transfer.hpp"

#include <algorithm>
#include <array>

#include "stoa/text/ascii.hpp"

namespace stoa::curl {

namespace {

using Clock = std::chrono::steady_clock;

using text::parse_u64;
using text::to_lower;
using text::trim_space;

// "HTTP/1.1 200 OK\r\n", "HTTP/2 404 \r\n"
long parse_status_line(std::string_view line) {
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return 0;
  const auto code = parse_u64(line.substr(space + 1, 3));
  return code ? static_cast<long>(*code) : 0;
}

// One transfer's state, shared with the callbacks.
struct State {
  Sink* sink = nullptr;
  const Options* options = nullptr;
  Response response;
  Stop stop = Stop::none;
  std::string reason;  // of a stop
  std::exception_ptr sink_error;
  bool accepted = false;  // the current response's body goes to the sink
  Clock::time_point last_progress = Clock::now();
  curl_off_t last_down = 0;
  curl_off_t last_up = 0;

  // Calls the sink, keeping what it throws for after the transfer. false when it threw.
  template <class F>
  bool call_sink(F&& f) {
    try {
      f();
      return true;
    } catch (...) {
      sink_error = std::current_exception();
      return false;
    }
  }

  bool start_response(long status) {
    const bool wrote = response.body_bytes > 0;
    response = Response{};
    response.status = status;
    accepted = false;
    return !wrote || call_sink([&] { sink->clear(); });
  }

  // The blank line: false ends the transfer.
  bool end_headers() {
    response.headers_done = true;
    if (!options->accept(response.status)) return true;
    accepted = true;
    std::optional<std::string> why;
    if (!call_sink([&] { why = sink->start(response); })) return false;
    if (why) {
      stop = Stop::refused;
      reason = std::move(*why);
      return false;
    }
    for (const auto& [name, value] : response.headers) {
      if (name != "content-length") continue;
      const auto length = parse_u64(value);
      if (length && *length > options->max_body) {
        too_large();
        return false;
      }
      break;
    }
    return true;
  }

  void too_large() {
    stop = Stop::too_large;
    reason = "body larger than " + std::to_string(options->max_body) + " bytes";
  }
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& s = *static_cast<State*>(user);
  const std::size_t n = size * count;
  s.last_progress = Clock::now();
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    if (!s.start_response(parse_status_line(line))) return 0;
    s.response.http1 = line.starts_with("HTTP/1.");
    return n;
  }
  if (s.response.headers_done) return n;  // trailers
  if (trim_space(line).empty()) return s.end_headers() ? n : 0;
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name(trim_space(line.substr(0, colon)));
  for (char& c : name) c = to_lower(c);
  s.response.headers.emplace_back(std::move(name), std::string(trim_space(line.substr(colon + 1))));
  return n;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& s = *static_cast<State*>(user);
  const std::size_t n = size * count;
  Response& r = s.response;
  if (s.accepted) {
    if (n > s.options->max_body - r.body_bytes) {
      s.too_large();
      return 0;
    }
    if (!s.call_sink([&] { s.sink->append(std::string_view(data, n)); })) return 0;
    r.body_bytes += n;
    return n;
  }
  const std::size_t capture = s.options->error_capture;
  if (r.error_body.size() < capture) {
    r.error_body.append(data, std::min(n, capture - r.error_body.size()));
  }
  r.error_body_bytes += n;
  if (r.error_body_bytes > s.options->error_read_limit) {
    s.stop = Stop::error_body_cut;
    s.reason = "error body longer than " + std::to_string(s.options->error_read_limit) + " bytes";
    return 0;
  }
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t down, curl_off_t, curl_off_t up) {
  auto& s = *static_cast<State*>(user);
  const auto now = Clock::now();
  if (down != s.last_down || up != s.last_up) {
    s.last_down = down;
    s.last_up = up;
    s.last_progress = now;
  }
  const auto stall = s.options->limits.stall_timeout;
  if (stall.count() > 0 && now - s.last_progress >= stall) {
    s.stop = Stop::stalled;
    s.reason = "stalled: no data for " + std::to_string(stall.count()) + " ms";
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  if (s.options->abort && s.options->abort()) {
    s.stop = Stop::aborted;
    s.reason = "aborted";
    return 1;
  }
  return 0;
}

}  // namespace

const std::string* Response::header(std::string_view lowercase_name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->first == lowercase_name) return &it->second;
  }
  return nullptr;
}

Result perform(CURL* h, Sink& sink, const Options& options) {
  State s;
  s.sink = &sink;
  s.options = &options;
  std::array<char, CURL_ERROR_SIZE> errbuf{};
  const auto ms = [](std::chrono::milliseconds d) { return static_cast<long>(d.count()); };

  set(h, CURLOPT_NOSIGNAL, 1L);
  set(h, CURLOPT_PROTOCOLS_STR, "http,https");
  set(h, CURLOPT_CONNECTTIMEOUT_MS, ms(options.limits.connect_timeout));
  set(h, CURLOPT_TIMEOUT_MS, ms(options.limits.total_timeout));
  set(h, CURLOPT_TCP_KEEPALIVE, 1L);
  set(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  set(h, CURLOPT_ERRORBUFFER, errbuf.data());
  set(h, CURLOPT_HEADERFUNCTION, &on_header);
  set(h, CURLOPT_HEADERDATA, static_cast<void*>(&s));
  set(h, CURLOPT_WRITEFUNCTION, &on_body);
  set(h, CURLOPT_WRITEDATA, static_cast<void*>(&s));
  set(h, CURLOPT_NOPROGRESS, 0L);
  set(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
  set(h, CURLOPT_XFERINFODATA, static_cast<void*>(&s));

  Result result;
  result.code = curl_easy_perform(h);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, static_cast<char*>(nullptr));
  if (s.sink_error) std::rethrow_exception(s.sink_error);
  result.stop = s.stop;
  result.response = std::move(s.response);
  if (result.code != CURLE_OK) {
    result.error = !s.reason.empty()   ? std::move(s.reason)
                   : errbuf[0] != '\0' ? std::string(errbuf.data())
                                       : std::string(curl_easy_strerror(result.code));
  }
  return result;
}

}  // namespace stoa::curl

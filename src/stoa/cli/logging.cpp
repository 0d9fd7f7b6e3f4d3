#include "stoa/cli/logging.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <ctime>

#include "stoa/text/json.hpp"
#include "stoa/trace/log_context.hpp"

namespace stoa::cli {
namespace {

// The record's time as "2026-01-02T03:04:05.678Z".
std::string timestamp(const spdlog::details::log_msg& msg) {
  const auto t = std::chrono::system_clock::to_time_t(msg.time);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  const auto n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", std::string_view(ts, n), ms.count());
}

// `text` with control bytes (and the backslash) as \xNN.
void append_text_escaped(spdlog::memory_buf_t& dest, std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '\\') {
      fmt::format_to(std::back_inserter(dest), "\\x{:02x}", u);
    } else {
      dest.push_back(c);
    }
  }
}

// One JSON object per line: {"time":..., "level":..., "msg":...} with the message escaped, and
// "request_id" and "trace_id" when the record is about a request (trace/log_context.hpp).
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = fmt::format(R"({{"time":"{}","level":"{}","msg":)", timestamp(msg),
                                   spdlog::level::to_string_view(msg.level));
    text::append_json_string(line, std::string_view(msg.payload.data(), msg.payload.size()));
    if (const trace::LogContext* ctx = trace::current_log_context()) {
      if (!ctx->request_id.empty()) {
        line += R"(,"request_id":)";
        text::append_json_string(line, ctx->request_id);
      }
      if (!ctx->trace_id.empty()) {
        line += R"(,"trace_id":)";
        text::append_json_string(line, ctx->trace_id);
      }
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// "<time> <level> <message>" with control bytes of the message as \xNN, so text quoted from
// an upstream (or a checksum database's evidence) can neither split nor forge a log line. A
// record about a request ends with " [request_id=<id> trace_id=<id>]" (trace/log_context.hpp).
class TextFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    fmt::format_to(std::back_inserter(dest), "{} {} ", timestamp(msg),
                   spdlog::level::to_string_view(msg.level));
    append_text_escaped(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    if (const trace::LogContext* ctx = trace::current_log_context();
        ctx != nullptr && !ctx->request_id.empty()) {
      dest.append(std::string_view(" [request_id="));
      append_text_escaped(dest, ctx->request_id);
      if (!ctx->trace_id.empty()) {
        dest.append(std::string_view(" trace_id="));
        append_text_escaped(dest, ctx->trace_id);
      }
      dest.push_back(']');
    }
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_formatter(std::string_view format) {
  if (format == "json") return std::make_unique<JsonFormatter>();
  return std::make_unique<TextFormatter>();
}

Loggers make_loggers(std::string_view format, std::string_view level, bool access_log) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto app = std::make_shared<spdlog::logger>("stoa", sink);
  app->set_formatter(make_formatter(format));
  app->set_level(spdlog::level::from_str(std::string(level)));
  app->flush_on(spdlog::level::trace);

  std::shared_ptr<spdlog::logger> access;
  if (access_log) {
    // A sink of its own: spdlog formatters belong to sinks, and access lines come preformatted.
    access = std::make_shared<spdlog::logger>("access",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    access->set_formatter(std::make_unique<spdlog::pattern_formatter>("%v"));
    access->flush_on(spdlog::level::trace);
  }
  return {app, access};
}

}  // namespace stoa::cli

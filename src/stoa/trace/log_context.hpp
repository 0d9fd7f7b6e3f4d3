#pragma once
// Which request the log records written on this thread are about: the formatters of the
// application log (cli/logging) add its request id and trace id to every record, as fields of
// their own in JSON and as a " [request_id=... trace_id=...]" suffix in text.
//
// Per thread, set for a synchronous stretch of work by a ScopedLogContext: never across a
// co_await (a coroutine may resume on another thread, and other coroutines run on this one
// meanwhile). A job handed to a worker thread sets its own scope there.

#include <string>

namespace stoa::trace {

struct LogContext {
  std::string request_id;  // empty: none
  std::string trace_id;    // 32 hex digits, or empty
};

// The context set on this thread, or nullptr. Valid until the ScopedLogContext that set it ends.
const LogContext* current_log_context();

// Sets `context` as this thread's until destruction, then restores the one before. `context`
// must outlive the scope. Not movable: a scope belongs to one stack frame.
class ScopedLogContext {
 public:
  explicit ScopedLogContext(const LogContext& context);
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

 private:
  const LogContext* m_previous;
};

}  // namespace stoa::trace

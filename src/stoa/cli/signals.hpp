#pragma once
// The process's signals while stoa serves: SIGTERM and SIGINT stop it (the first gracefully, a
// second at once), SIGHUP reloads. The one place that installs signal handlers; the listeners
// (http::Server) only offer drain(), stop() and reload_tls().

#include <functional>
#include <thread>

namespace stoa::cli {

struct SignalHandlers {
  // SIGTERM or SIGINT: `first` is true for the first one, false for every later one.
  std::function<void(int signal, bool first)> on_stop;
  std::function<void()> on_reload;  // SIGHUP
};

// Installs handlers for SIGTERM, SIGINT and SIGHUP that only note the signal (a byte to a pipe);
// the callbacks run on a thread of the watcher's own, one at a time, never inside a signal
// handler. The destructor restores the previous dispositions and joins the thread (a signal
// then has its former effect again). One watcher at a time per process: a second throws
// std::logic_error, a failing pipe or sigaction std::system_error.
class SignalWatcher {
 public:
  explicit SignalWatcher(SignalHandlers handlers);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void run();

  SignalHandlers m_handlers;
  int m_read = -1;
  int m_write = -1;
  std::thread m_thread;
};

}  // namespace stoa::cli

#include "stoa/cli/signals.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace stoa::cli {
namespace {

constexpr std::array k_signals = {SIGTERM, SIGINT, SIGHUP};

// The write end of the pipe of the one SignalWatcher: a signal handler can reach nothing else.
std::atomic<int> g_pipe{-1};
std::array<struct sigaction, k_signals.size()> g_previous{};

extern "C" void note_signal(int sig) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(sig);
  // Non-blocking: with the pipe full (a flood of signals) the extra ones are dropped.
  [[maybe_unused]] const auto n = ::write(g_pipe.load(), &byte, 1);
  errno = saved;
}

}  // namespace

SignalWatcher::SignalWatcher(SignalHandlers handlers) : m_handlers(std::move(handlers)) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  m_read = fds[0];
  m_write = fds[1];
  ::fcntl(m_write, F_SETFL, ::fcntl(m_write, F_GETFL) | O_NONBLOCK);
  int expected = -1;
  if (!g_pipe.compare_exchange_strong(expected, m_write)) {
    ::close(m_read);
    ::close(m_write);
    throw std::logic_error("a SignalWatcher exists already");
  }
  struct sigaction sa {};
  sa.sa_handler = note_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (std::size_t i = 0; i < k_signals.size(); ++i) {
    if (::sigaction(k_signals[i], &sa, &g_previous[i]) != 0) {
      const int error = errno;
      while (i-- > 0) ::sigaction(k_signals[i], &g_previous[i], nullptr);
      g_pipe.store(-1);
      ::close(m_read);
      ::close(m_write);
      throw std::system_error(error, std::generic_category(), "sigaction");
    }
  }
  m_thread = std::thread([this] { run(); });
}

SignalWatcher::~SignalWatcher() {
  for (std::size_t i = 0; i < k_signals.size(); ++i)
    ::sigaction(k_signals[i], &g_previous[i], nullptr);
  const unsigned char stop = 0;  // no signal is 0
  while (::write(m_write, &stop, 1) < 0 && errno == EAGAIN) {
    // The pipe is full of signals the thread has not read yet; it will make room.
    std::this_thread::yield();
  }
  m_thread.join();
  g_pipe.store(-1);
  ::close(m_read);
  ::close(m_write);
}

void SignalWatcher::run() {
  bool stopping = false;
  for (;;) {
    unsigned char sig = 0;
    const auto n = ::read(m_read, &sig, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n != 1 || sig == 0) return;
    if (sig == SIGHUP) {
      if (m_handlers.on_reload) m_handlers.on_reload();
    } else if (m_handlers.on_stop) {
      m_handlers.on_stop(sig, !stopping);
      stopping = true;
    }
  }
}

}  // namespace stoa::cli

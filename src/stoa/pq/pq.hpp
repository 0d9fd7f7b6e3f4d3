#pragma once
// libpq plumbing, the only code that includes libpq: a connection (RAII), a small pool of idle
// connections, parameterized statements returning an owned result, and libpq's error text as one
// line. Blocking (call it from a worker thread, never a serving one).
//
// Thread-safety: a Connection and a Result belong to one thread at a time; a Pool is safe to
// share.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace stoa::pq {

// A failure to connect or a statement the server refused: what() is the first line of libpq's
// message; sqlstate() the server's SQLSTATE ("57014": canceled by statement_timeout), empty
// when the failure was not the server's answer (connection lost, out of memory).
class Error : public std::runtime_error {
 public:
  Error(const std::string& message, std::string sqlstate)
      : std::runtime_error(message), m_sqlstate(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return m_sqlstate; }

 private:
  std::string m_sqlstate;
};

// The rows of a statement's answer, in text format.
class Result {
 public:
  int rows() const;
  int columns() const;
  // The value at (row, column) as text; "" for NULL (see is_null). Valid while the Result lives.
  std::string_view value(int row, int column) const;
  bool is_null(int row, int column) const;

 private:
  friend class Connection;
  struct Free {
    void operator()(pg_result* r) const;
  };
  explicit Result(pg_result* r) : m_r(r) {}
  std::unique_ptr<pg_result, Free> m_r;
};

struct ConnectOptions {
  std::string conninfo;                              // a libpq connection URI or key=value string
  std::chrono::milliseconds connect_timeout{2'000};  // rounded up to whole seconds (libpq's unit)
  std::string application_name = "stoa";
};

class Connection {
 public:
  // Connects; throws Error when the server cannot be reached or refuses.
  static Connection open(const ConnectOptions& options);

  // Still connected (as far as libpq knows: a connection whose server went away is seen as
  // broken after a statement failed on it).
  bool ok() const;

  // Runs `sql` with the text parameters $1..$n. Returns the rows of a query (none for a
  // command); throws Error when the server refuses the statement or the connection fails.
  Result exec(const char* sql, const std::vector<std::string>& params = {});

 private:
  struct Free {
    void operator()(pg_conn* c) const;
  };
  explicit Connection(pg_conn* c) : m_c(c) {}
  std::unique_ptr<pg_conn, Free> m_c;
};

struct PoolOptions {
  ConnectOptions connect;
  std::size_t max_idle = 8;  // idle connections kept for reuse
};

// Connections for reuse. take() hands out an idle connection that is still ok, or opens a new
// one; give() keeps a connection that is ok while there is room, and closes it otherwise. A
// connection whose statement failed may be in any state: drop it rather than give it back.
class Pool {
 public:
  explicit Pool(PoolOptions options) : m_options(std::move(options)) {}

  Connection take();
  void give(Connection c);
  std::size_t idle() const;

 private:
  const PoolOptions m_options;
  mutable std::mutex m_mu;
  std::vector<Connection> m_idle;
};

}  // namespace stoa::pq

#include "stoa/pq/pq.hpp"

#include <libpq-fe.h>

#include <algorithm>

namespace stoa::pq {
namespace {

std::string first_line(const char* s) {
  std::string out = s != nullptr ? s : "";
  if (const auto nl = out.find('\n'); nl != std::string::npos) out.resize(nl);
  return out;
}

}  // namespace

void Result::Free::operator()(pg_result* r) const { ::PQclear(r); }

int Result::rows() const { return ::PQntuples(m_r.get()); }

int Result::columns() const { return ::PQnfields(m_r.get()); }

std::string_view Result::value(int row, int column) const {
  return {::PQgetvalue(m_r.get(), row, column),
          static_cast<std::size_t>(::PQgetlength(m_r.get(), row, column))};
}

bool Result::is_null(int row, int column) const {
  return ::PQgetisnull(m_r.get(), row, column) != 0;
}

void Connection::Free::operator()(pg_conn* c) const { ::PQfinish(c); }

Connection Connection::open(const ConnectOptions& options) {
  const std::string timeout =
      std::to_string(std::max<std::int64_t>(1, (options.connect_timeout.count() + 999) / 1000));
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {options.conninfo.c_str(), timeout.c_str(),
                          options.application_name.c_str(), nullptr};
  Connection c(::PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!c.m_c) throw Error("out of memory", "");
  if (::PQstatus(c.m_c.get()) != CONNECTION_OK) {
    throw Error(first_line(::PQerrorMessage(c.m_c.get())), "");
  }
  return c;
}

bool Connection::ok() const { return m_c && ::PQstatus(m_c.get()) == CONNECTION_OK; }

Result Connection::exec(const char* sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  Result r(::PQexecParams(m_c.get(), sql, static_cast<int>(values.size()), nullptr, values.data(),
                          nullptr, nullptr, 0));
  if (!r.m_r) throw Error(first_line(::PQerrorMessage(m_c.get())), "");
  const auto status = ::PQresultStatus(r.m_r.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    const char* state = ::PQresultErrorField(r.m_r.get(), PG_DIAG_SQLSTATE);
    throw Error(first_line(::PQresultErrorMessage(r.m_r.get())), state != nullptr ? state : "");
  }
  return r;
}

Connection Pool::take() {
  {
    const std::lock_guard lock(m_mu);
    while (!m_idle.empty()) {
      Connection c = std::move(m_idle.back());
      m_idle.pop_back();
      if (c.ok()) return c;
    }
  }
  return Connection::open(m_options.connect);
}

void Pool::give(Connection c) {
  if (!c.ok()) return;
  const std::lock_guard lock(m_mu);
  if (m_idle.size() < m_options.max_idle) m_idle.push_back(std::move(c));
}

std::size_t Pool::idle() const {
  const std::lock_guard lock(m_mu);
  return m_idle.size();
}

}  // namespace stoa::pq

#include "stoa/pq/pq.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stoa/coord/testing/servers.hpp"

namespace stoa::pq {
namespace {

coord::testing::PostgresServer& server() {
  static coord::testing::PostgresServer s;
  return s;
}

ConnectOptions options() {
  ConnectOptions o;
  o.conninfo = server().url();
  o.application_name = "stoa-pq-test";
  return o;
}

TEST(Connection, ParametersAreValuesNeverSql) {
  Connection c = Connection::open(options());
  ASSERT_TRUE(c.ok());
  const std::vector<std::string> hostile = {"'; DROP TABLE x; --", "a\"b\\c", "caf\xc3\xa9", ""};
  for (const auto& v : hostile) {
    const Result r = c.exec("SELECT $1::text, length($1::text)", {v});
    ASSERT_EQ(r.rows(), 1);
    ASSERT_EQ(r.columns(), 2);
    EXPECT_EQ(r.value(0, 0), v);
    EXPECT_FALSE(r.is_null(0, 0));
    EXPECT_EQ(r.value(0, 1), std::to_string(v == "caf\xc3\xa9" ? 4 : v.size()));
  }
}

TEST(Connection, NullsAndCommands) {
  Connection c = Connection::open(options());
  const Result r = c.exec("SELECT NULL::text, 'x'");
  EXPECT_TRUE(r.is_null(0, 0));
  EXPECT_EQ(r.value(0, 0), "");
  EXPECT_FALSE(r.is_null(0, 1));
  const Result cmd = c.exec("SET application_name = 'stoa-pq-test-2'");
  EXPECT_EQ(cmd.rows(), 0);
  const Result rows = c.exec("SELECT generate_series(1, $1::int)", {"3"});
  ASSERT_EQ(rows.rows(), 3);
  EXPECT_EQ(rows.value(2, 0), "3");
}

TEST(Connection, RefusedStatementCarriesMessageAndSqlstate) {
  Connection c = Connection::open(options());
  try {
    c.exec("SELEC 1");
    FAIL() << "a syntax error was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), "42601");
    const std::string what = e.what();
    EXPECT_NE(what.find("syntax error"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  EXPECT_TRUE(c.ok());  // the session survives a refused statement
  c.exec("SELECT set_config('statement_timeout', '50', false)");
  try {
    c.exec("SELECT pg_sleep(5)");
    FAIL() << "statement_timeout did not cancel";
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), "57014") << e.what();
  }
}

TEST(Connection, UnreachableServerIsAnError) {
  ConnectOptions o;
  o.conninfo = "postgresql://postgres@127.0.0.1:" + std::to_string(coord::testing::free_port()) +
               "/postgres";
  try {
    (void)Connection::open(o);
    FAIL() << "connected to a closed port";
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), "");
    EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
  }
}

TEST(Pool, ReusesHealthyConnectionsUpToMaxIdle) {
  Pool pool({options(), 2});
  Connection a = pool.take();
  Connection b = pool.take();
  Connection c = pool.take();
  const std::string pid_a(a.exec("SELECT pg_backend_pid()").value(0, 0));
  pool.give(std::move(a));
  pool.give(std::move(b));
  pool.give(std::move(c));  // no room: closed
  EXPECT_EQ(pool.idle(), 2u);
  Connection again = pool.take();
  EXPECT_EQ(pool.idle(), 1u);
  Connection other = pool.take();
  const std::string p1(again.exec("SELECT pg_backend_pid()").value(0, 0));
  const std::string p2(other.exec("SELECT pg_backend_pid()").value(0, 0));
  EXPECT_TRUE(p1 == pid_a || p2 == pid_a) << "the pool opened new sessions instead";
}

TEST(Pool, DropsBrokenConnections) {
  Pool pool({options(), 4});
  Connection victim = pool.take();
  const std::string pid(victim.exec("SELECT pg_backend_pid()").value(0, 0));
  Connection killer = Connection::open(options());
  // With a timeout, pg_terminate_backend returns once the session has ended.
  killer.exec("SELECT pg_terminate_backend($1::int, 10000)", {pid});
  EXPECT_THROW(victim.exec("SELECT 1"), Error);
  EXPECT_FALSE(victim.ok());
  pool.give(std::move(victim));
  EXPECT_EQ(pool.idle(), 0u);
  Connection fresh = pool.take();
  EXPECT_EQ(fresh.exec("SELECT 1").value(0, 0), "1");
}

}  // namespace
}  // namespace stoa::pq

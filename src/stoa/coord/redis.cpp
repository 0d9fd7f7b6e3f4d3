#include "stoa/coord/redis.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_set>
#include <vector>

namespace stoa::coord {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct ContextFree {
  void operator()(redisContext* c) const { ::redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;
struct ReplyFree {
  void operator()(redisReply* r) const { ::freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// compare-and-pexpire: renews only our own hold.
constexpr const char* k_renew =
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";
// compare-and-delete, then wake the waiters.
constexpr const char* k_release =
    "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) "
    "redis.call('publish', KEYS[2], '1') return 1 end return 0";

struct Endpoint {
  std::string host;
  int port = 6379;
  std::string user;
  std::string password;
  int db = 0;
  std::string shown;  // host:port, for messages
};

Endpoint parse_url(const std::string& url) {
  constexpr std::string_view scheme = "redis://";
  if (!std::string_view(url).starts_with(scheme)) {
    throw LockError("redis_url: must start with redis:// (TLS and unix sockets are not supported)");
  }
  std::string_view rest = std::string_view(url).substr(scheme.size());
  Endpoint e;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (const auto colon = cred.find(':'); colon != std::string_view::npos) {
      e.user = std::string(cred.substr(0, colon));
      e.password = std::string(cred.substr(colon + 1));
    } else {
      e.password = std::string(cred);
    }
  }
  std::string_view hostport = rest;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      const auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), e.db);
      if (ec != std::errc() || p != db.data() + db.size() || e.db < 0) {
        throw LockError("redis_url: the database after '/' must be a number");
      }
    }
  }
  if (const auto colon = hostport.rfind(':');
      colon != std::string_view::npos && hostport.find(']') == std::string_view::npos) {
    const std::string_view port = hostport.substr(colon + 1);
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
    if (ec != std::errc() || p != port.data() + port.size() || e.port <= 0 || e.port > 65535) {
      throw LockError("redis_url: bad port");
    }
    hostport = hostport.substr(0, colon);
  }
  e.host = std::string(hostport);
  if (e.host.empty()) throw LockError("redis_url: no host");
  e.shown = e.host + ":" + std::to_string(e.port);
  return e;
}

timeval to_timeval(milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

std::string random_token() {
  std::random_device rd;
  std::string t;
  constexpr char hex[] = "0123456789abcdef";
  for (int i = 0; i < 4; ++i) {
    auto v = rd();
    for (int j = 0; j < 8; ++j, v >>= 4) t += hex[v & 15];
  }
  return t;
}

// One lock hold, shared by its Held and the renewer.
struct Hold {
  std::string key;
  std::string token;
  std::atomic<bool> lost{false};
};

class RedisLocks;

class RedisHeld final : public Held {
 public:
  RedisHeld(RedisLocks& locks, std::shared_ptr<Hold> hold)
      : m_locks(locks), m_hold(std::move(hold)) {}
  ~RedisHeld() override {
    try {
      release();
    } catch (const LockError&) {
      // The lease ends it.
    }
  }
  void release() override;
  bool lost() const override { return m_hold->lost.load(); }

 private:
  RedisLocks& m_locks;
  std::shared_ptr<Hold> m_hold;
  bool m_released = false;
};

class RedisLocks final : public Locks {
 public:
  explicit RedisLocks(const RedisOptions& o)
      : m_options(o), m_endpoint(parse_url(o.url)), m_renewer([this] { renew_loop(); }) {}

  ~RedisLocks() override {
    {
      const std::lock_guard lock(m_mu);
      m_stopping = true;
    }
    m_cv.notify_all();
    m_renewer.join();
  }

  std::unique_ptr<Held> acquire(const std::string& key, Clock::time_point deadline) override {
    const std::string k = m_options.prefix + key;
    const std::string channel = k + ":released";
    const std::string lease = std::to_string(m_options.lease.count());
    auto hold = std::make_shared<Hold>();
    hold->key = k;
    hold->token = random_token();
    Context sub;  // subscribed to `channel` from the first wait on
    for (;;) {
      {
        Context c = take();
        const Reply r = command(c, {"SET", k, hold->token, "NX", "PX", lease});
        give(std::move(c));
        if (r->type == REDIS_REPLY_STATUS) {
          {
            const std::lock_guard lock(m_mu);
            m_holds.insert(hold);
          }
          return std::make_unique<RedisHeld>(*this, hold);
        }
      }
      if (Clock::now() >= deadline) return nullptr;
      if (!sub) {
        sub = connect();
        (void)command(sub, {"SUBSCRIBE", channel});
      }
      // Subscribed before reading the time left, so a release in between is not missed.
      Context c = take();
      const Reply ttl = command(c, {"PTTL", k});
      give(std::move(c));
      if (ttl->type != REDIS_REPLY_INTEGER) throw LockError("redis: PTTL answered oddly");
      if (ttl->integer == -2) continue;  // gone already: try again
      // Woken by a release; else when the hold would expire (if not renewed), then look again.
      const milliseconds expiry = ttl->integer > 0 ? milliseconds(ttl->integer) : m_options.lease;
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - Clock::now()) + milliseconds(1);
      wait_message(sub, std::min(expiry + milliseconds(5), left));
    }
  }

  std::string_view backend() const override { return "redis"; }

  void release(const std::shared_ptr<Hold>& hold) {
    {
      const std::lock_guard lock(m_mu);
      m_holds.erase(hold);
    }
    Context c = take();
    const Reply r =
        command(c, {"EVAL", k_release, "2", hold->key, hold->key + ":released", hold->token});
    give(std::move(c));
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) hold->lost = true;
  }

 private:
  Context connect() {
    Context c(::redisConnectWithTimeout(m_endpoint.host.c_str(), m_endpoint.port,
                                        to_timeval(m_options.io_timeout)));
    if (!c) throw LockError("redis " + m_endpoint.shown + ": out of memory");
    if (c->err != 0) throw LockError("redis " + m_endpoint.shown + ": " + c->errstr);
    if (::redisSetTimeout(c.get(), to_timeval(m_options.io_timeout)) != REDIS_OK) {
      throw LockError("redis " + m_endpoint.shown + ": cannot set timeout");
    }
    if (!m_endpoint.password.empty()) {
      if (m_endpoint.user.empty()) {
        (void)command(c, {"AUTH", m_endpoint.password});
      } else {
        (void)command(c, {"AUTH", m_endpoint.user, m_endpoint.password});
      }
    }
    if (m_endpoint.db != 0) (void)command(c, {"SELECT", std::to_string(m_endpoint.db)});
    return c;
  }

  Context take() {
    {
      const std::lock_guard lock(m_mu);
      if (!m_idle.empty()) {
        Context c = std::move(m_idle.back());
        m_idle.pop_back();
        return c;
      }
    }
    return connect();
  }

  void give(Context c) {
    if (!c || c->err != 0) return;
    const std::lock_guard lock(m_mu);
    if (m_idle.size() < 8) m_idle.push_back(std::move(c));
  }

  // Throws LockError on a transport failure or an error reply; the context is then unusable
  // (give() drops it).
  Reply command(Context& c, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply r(static_cast<redisReply*>(
        ::redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (!r) {
      throw LockError("redis " + m_endpoint.shown + ": " + (c->err ? c->errstr : "no reply"));
    }
    if (r->type == REDIS_REPLY_ERROR) {
      const std::string msg(r->str, r->len);
      c->err = REDIS_ERR_OTHER;  // not reused
      throw LockError("redis " + m_endpoint.shown + ": " + args[0] + ": " + msg);
    }
    return r;
  }

  // Waits up to `timeout` for a message on the subscribed context.
  void wait_message(Context& sub, milliseconds timeout) {
    void* raw = nullptr;
    if (::redisGetReplyFromReader(sub.get(), &raw) != REDIS_OK) {
      throw LockError("redis " + m_endpoint.shown + ": " + sub->errstr);
    }
    if (raw != nullptr) {
      ::freeReplyObject(raw);
      return;
    }
    pollfd p{sub->fd, POLLIN, 0};
    int n = 0;
    do {
      n = ::poll(&p, 1, static_cast<int>(std::max<milliseconds::rep>(timeout.count(), 0)));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return;  // time's up
    if (::redisGetReply(sub.get(), &raw) != REDIS_OK) {
      throw LockError("redis " + m_endpoint.shown + ": " + sub->errstr);
    }
    ::freeReplyObject(raw);
  }

  void renew_loop() {
    Context c;
    std::unique_lock lock(m_mu);
    while (!m_stopping) {
      m_cv.wait_for(lock, m_options.lease / 3);
      if (m_stopping) break;
      const std::vector<std::shared_ptr<Hold>> holds(m_holds.begin(), m_holds.end());
      lock.unlock();
      for (const auto& h : holds) {
        try {
          if (!c || c->err != 0) c = connect();
          const Reply r = command(
              c, {"EVAL", k_renew, "1", h->key, h->token, std::to_string(m_options.lease.count())});
          if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) h->lost = true;
        } catch (const LockError&) {
          c.reset();  // retried at the next tick; the lease covers two missed renewals
        }
      }
      lock.lock();
    }
  }

  const RedisOptions m_options;
  const Endpoint m_endpoint;
  std::mutex m_mu;
  std::condition_variable m_cv;
  bool m_stopping = false;
  std::vector<Context> m_idle;
  std::unordered_set<std::shared_ptr<Hold>> m_holds;
  std::thread m_renewer;  // last: started after everything it uses
};

void RedisHeld::release() {
  if (m_released) return;
  m_released = true;
  m_locks.release(m_hold);
}

}  // namespace

std::unique_ptr<Locks> make_redis_locks(const RedisOptions& options) {
  if (options.lease < milliseconds(30)) throw LockError("lock_lease: must be at least 30ms");
  return std::make_unique<RedisLocks>(options);
}

}  // namespace stoa::coord

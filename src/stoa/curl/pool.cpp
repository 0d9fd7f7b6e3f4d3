#include "stoa/curl/pool.hpp"

#include <stdexcept>
#include <utility>

namespace stoa::curl {

Pool::Pool(std::size_t max_idle) : m_max_idle(max_idle) {
  ensure_initialized();
  m_share.reset(curl_share_init());
  if (!m_share) throw std::runtime_error("curl_share_init failed");
  bool ok = curl_share_setopt(m_share.get(), CURLSHOPT_LOCKFUNC, &Pool::lock) == CURLSHE_OK;
  ok = ok && curl_share_setopt(m_share.get(), CURLSHOPT_UNLOCKFUNC, &Pool::unlock) == CURLSHE_OK;
  ok = ok && curl_share_setopt(m_share.get(), CURLSHOPT_USERDATA, this) == CURLSHE_OK;
  ok = ok && curl_share_setopt(m_share.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) == CURLSHE_OK;
  ok = ok &&
       curl_share_setopt(m_share.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) == CURLSHE_OK;
  if (!ok) throw std::runtime_error("curl_share_setopt failed");
}

Easy Pool::acquire() {
  Easy h;
  {
    std::lock_guard lock(m_mutex);
    if (!m_idle.empty()) {
      h = std::move(m_idle.back());
      m_idle.pop_back();
    }
  }
  if (!h) h = new_easy();
  set(h.get(), CURLOPT_SHARE, m_share.get());
  return h;
}

void Pool::release(Easy h) {
  curl_easy_reset(h.get());
  std::lock_guard lock(m_mutex);
  if (m_idle.size() < m_max_idle) m_idle.push_back(std::move(h));
  // else the handle and its connections are closed when `h` goes out of scope
}

void Pool::lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
  static_cast<Pool*>(self)->mutex_for(data).lock();
}

void Pool::unlock(CURL*, curl_lock_data data, void* self) {
  static_cast<Pool*>(self)->mutex_for(data).unlock();
}

std::mutex& Pool::mutex_for(curl_lock_data data) {
  const auto i = static_cast<std::size_t>(data);
  return m_share_locks[i < m_share_locks.size() ? i : 0];
}

}  // namespace stoa::curl

#include "stoa/vulndb/mirror.hpp"

namespace stoa::vulndb {

bool Mirror::refresh(bool force) {
  const std::lock_guard lock(m_refresh);
  const std::string name = m_repository.current_name();
  if (!force && name == m_name) return false;
  Repository::Loaded l = m_repository.load(m_limits);
  m_current.store(std::move(l.snapshot));
  m_name = std::move(l.name);
  return true;
}

bool Mirror::stale() const {
  const std::unique_lock lock(m_refresh, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  try {
    return m_repository.current_name() != m_name;
  } catch (const std::exception&) {
    return false;  // refresh() reports it
  }
}

}  // namespace stoa::vulndb

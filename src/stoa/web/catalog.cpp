#include "stoa/web/catalog.hpp"

#include <algorithm>
#include <tuple>

#include "stoa/module/semver.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::web {

std::shared_ptr<const Catalog> Catalog::load(index::Index& idx, std::size_t max_entries,
                                             std::size_t batch) {
  std::vector<index::Entry> all;
  std::string after_module;
  std::string after_version;
  bool truncated = false;
  for (;;) {
    auto page = idx.page(after_module, after_version, batch);
    if (page.empty()) break;
    after_module = page.back().module;
    after_version = page.back().version;
    const bool last = page.size() < batch;
    for (auto& e : page) {
      if (all.size() >= max_entries) {
        truncated = true;
        break;
      }
      all.push_back(std::move(e));
    }
    if (last || truncated) break;
  }
  return std::make_shared<const Catalog>(std::move(all), truncated);
}

Catalog::Catalog(std::vector<index::Entry> entries, bool truncated)
    : m_entries(std::move(entries)), m_truncated(truncated) {
  std::sort(m_entries.begin(), m_entries.end(), [](const index::Entry& a, const index::Entry& b) {
    return a.module != b.module ? a.module < b.module : a.version < b.version;
  });
  for (std::size_t i = 0; i < m_entries.size(); ++i) {
    const index::Entry& e = m_entries[i];
    if (m_modules.empty() || m_modules.back().path != e.module) {
      m_modules.push_back({e.module, e.version, 0, 0, 0});
      m_first.push_back(i);
      m_folded.push_back(text::to_lower(e.module));
    }
    ModuleSummary& m = m_modules.back();
    ++m.versions;
    m.last_stored_ns = std::max(m.last_stored_ns, e.stored_ns);
    if (e.zip_size > 0) {
      m.bytes += e.zip_size;
      m_bytes += e.zip_size;
    }
    // Releases before pseudo-versions, as the go command prefers them; then semver order.
    const bool pseudo = module::semver::is_pseudo(e.version);
    const bool latest_pseudo = module::semver::is_pseudo(m.latest);
    if ((latest_pseudo && !pseudo) ||
        (pseudo == latest_pseudo && module::semver::compare(e.version, m.latest) > 0)) {
      m.latest = e.version;
    }
  }
  m_by_time.resize(m_entries.size());
  for (std::size_t i = 0; i < m_by_time.size(); ++i) m_by_time[i] = i;
  std::sort(m_by_time.begin(), m_by_time.end(), [this](std::size_t a, std::size_t b) {
    return m_entries[a].stored_ns > m_entries[b].stored_ns;
  });
}

const index::Entry* Catalog::newest() const {
  const index::Entry* best = nullptr;
  for (const auto& e : m_entries) {
    if (best == nullptr || std::tie(e.stored_ns, e.module, e.version) >
                               std::tie(best->stored_ns, best->module, best->version)) {
      best = &e;
    }
  }
  return best;
}

std::shared_ptr<const Catalog> Catalog::with(std::vector<index::Entry> more) const {
  std::sort(more.begin(), more.end(), [](const index::Entry& a, const index::Entry& b) {
    return std::tie(a.module, a.version) < std::tie(b.module, b.version);
  });
  std::vector<index::Entry> all;
  all.reserve(m_entries.size() + more.size());
  // Both sorted by (module, version): a merge, the newer entry winning on equal keys.
  std::size_t j = 0;
  for (const auto& e : m_entries) {
    while (j < more.size() &&
           std::tie(more[j].module, more[j].version) < std::tie(e.module, e.version)) {
      all.push_back(std::move(more[j++]));
    }
    if (j < more.size() && more[j].module == e.module && more[j].version == e.version) {
      all.push_back(std::move(more[j++]));
    } else {
      all.push_back(e);
    }
  }
  while (j < more.size()) all.push_back(std::move(more[j++]));
  return std::make_shared<const Catalog>(std::move(all), m_truncated);
}

std::vector<const index::Entry*> Catalog::versions(std::string_view module) const {
  std::vector<const index::Entry*> out;
  const auto it =
      std::lower_bound(m_modules.begin(), m_modules.end(), module,
                       [](const ModuleSummary& m, std::string_view p) { return m.path < p; });
  if (it == m_modules.end() || it->path != module) return out;
  const std::size_t first = m_first[static_cast<std::size_t>(it - m_modules.begin())];
  for (std::size_t i = first; i < m_entries.size() && m_entries[i].module == module; ++i) {
    out.push_back(&m_entries[i]);
  }
  std::sort(out.begin(), out.end(), [](const index::Entry* a, const index::Entry* b) {
    const int c = module::semver::compare(a->version, b->version);
    return c != 0 ? c > 0 : a->version > b->version;
  });
  return out;
}

std::vector<const index::Entry*> Catalog::recent(std::size_t limit, const Visible& visible) const {
  std::vector<const index::Entry*> out;
  const ModuleSummary* last_checked = nullptr;
  bool last_visible = false;
  for (const std::size_t i : m_by_time) {
    if (out.size() >= limit) break;
    const index::Entry& e = m_entries[i];
    const auto it =
        std::lower_bound(m_modules.begin(), m_modules.end(), e.module,
                         [](const ModuleSummary& m, std::string_view p) { return m.path < p; });
    if (&*it != last_checked) {
      last_checked = &*it;
      last_visible = visible(*it);
    }
    if (last_visible) out.push_back(&e);
  }
  return out;
}

SearchPage Catalog::search(std::string_view query, std::size_t page, std::size_t per_page,
                           const Visible& visible) const {
  const std::string q = text::to_lower(query);
  std::vector<std::size_t> prefix;
  std::vector<std::size_t> inside;
  for (std::size_t i = 0; i < m_modules.size(); ++i) {
    const std::string& name = m_folded[i];
    if (name.starts_with(q)) {
      prefix.push_back(i);
    } else if (name.find(q) != std::string::npos) {
      inside.push_back(i);
    }
  }
  SearchPage out;
  const std::size_t from = page * per_page;
  for (const auto* group : {&prefix, &inside}) {
    for (const std::size_t i : *group) {
      if (!visible(m_modules[i])) continue;
      if (out.total >= from && out.modules.size() < per_page) out.modules.push_back(&m_modules[i]);
      ++out.total;
    }
  }
  out.more = out.total > from + out.modules.size();
  return out;
}

}  // namespace stoa::web

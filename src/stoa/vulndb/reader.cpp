#include "stoa/vulndb/reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "stoa/fsio/unique_fd.hpp"
#include "stoa/modzip/archive.hpp"
#include "stoa/vulndb/gzip.hpp"

namespace stoa::vulndb {
namespace {

using Files = std::map<std::string, std::string, std::less<>>;

std::system_error sys_error(const std::string& what, const std::filesystem::path& p) {
  return {errno, std::generic_category(), what + " " + p.string()};
}

// The limit of a raw file in the layout; 0 when the name is not in index/ or ID/.
std::size_t limit_of(std::string_view name, const Limits& limits) {
  if (name.starts_with("index/")) return limits.max_index;
  if (name.starts_with("ID/")) return limits.max_entry;
  return 0;
}

// Reads a regular file of at most `limit` bytes; nullopt (error set) when it is something else.
std::optional<std::string> read_file(const std::filesystem::path& p, std::size_t limit,
                                     std::string& error) {
  const fsio::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) {
    if (errno == ELOOP) {
      error = p.string() + " is a symbolic link";
      return std::nullopt;
    }
    throw sys_error("cannot open", p);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw sys_error("cannot stat", p);
  if (!S_ISREG(st.st_mode)) {
    error = p.string() + " is not a regular file";
    return std::nullopt;
  }
  if (static_cast<std::uint64_t>(st.st_size) > limit) {
    error = p.string() + " is over " + std::to_string(limit) + " bytes";
    return std::nullopt;
  }
  std::string out(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("cannot read", p);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

ReadResult refused(std::string why) { return {std::nullopt, std::move(why)}; }

ReadResult read_directory(const std::filesystem::path& root, const Limits& limits) {
  Files files;
  std::size_t total = 0;
  for (const char* dir : {"index", "ID"}) {
    const std::filesystem::path d = root / dir;
    std::error_code ec;
    const auto st = std::filesystem::symlink_status(d, ec);
    if (ec || !std::filesystem::is_directory(st)) {
      return refused(d.string() + " is not a directory");
    }
    for (const auto& e : std::filesystem::directory_iterator(d)) {
      const std::string name = std::string(dir) + "/" + e.path().filename().string();
      std::string error;
      auto body = read_file(e.path(), limit_of(name, limits), error);
      if (!body) return refused(error);
      total += body->size();
      if (total > limits.max_total) {
        return refused("the database is over " + std::to_string(limits.max_total) + " bytes");
      }
      files.emplace(name, std::move(*body));
    }
  }
  return collect_documents(files, limits);
}

ReadResult read_zip(const std::filesystem::path& p, const Limits& limits) {
  const fsio::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw sys_error("cannot open", p);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw sys_error("cannot stat", p);
  if (static_cast<std::uint64_t>(st.st_size) > limits.max_archive) {
    return refused(p.string() + " is over " + std::to_string(limits.max_archive) + " bytes");
  }
  std::string error;
  auto zip = modzip::detail::ZipArchive::open(fd.get(), st.st_size, error);
  if (!zip) return refused(p.string() + ": not a readable zip: " + error);
  Files files;
  std::size_t total = 0;
  for (const auto& e : zip->entries()) {
    if (e.name.ends_with('/')) continue;  // a directory
    const std::size_t limit = limit_of(e.name, limits);
    if (limit == 0) {
      if (e.name.find('/') == std::string::npos) continue;  // a top-level file: not ours
      return refused("zip entry \"" + e.name + "\" is outside index/ and ID/");
    }
    if (e.size > limit) {
      return refused("zip entry " + e.name + " is over " + std::to_string(limit) + " bytes");
    }
    total += e.size;
    if (total > limits.max_total) {
      return refused("the database is over " + std::to_string(limits.max_total) + " bytes");
    }
    if (files.contains(e.name)) return refused("zip entry " + e.name + " is there twice");
    std::string body;
    body.reserve(e.size);
    auto err = zip->read(e, [&](const unsigned char* data, std::size_t n) {
      body.append(reinterpret_cast<const char*>(data), n);
    });
    if (err) return refused("zip entry " + e.name + ": " + *err);
    files.emplace(e.name, std::move(body));
  }
  return collect_documents(files, limits);
}

}  // namespace

ReadResult collect_documents(const Files& files, const Limits& limits) {
  Documents plain;
  Documents unzipped;
  std::size_t total = 0;
  for (const auto& [name, body] : files) {
    const std::size_t limit = limit_of(name, limits);
    if (limit == 0) continue;
    const std::size_t slash = name.find('/');
    const std::string_view dir = std::string_view(name).substr(0, slash);
    const std::string_view base = std::string_view(name).substr(slash + 1);
    if (base.find('/') != std::string_view::npos) {
      return refused("\"" + name + "\" is below " + std::string(dir) + "/");
    }
    const bool gz = base.ends_with(".json.gz");
    if (!gz && !base.ends_with(".json")) {
      return refused("\"" + name + "\" is neither .json nor .json.gz");
    }
    const std::string_view stem = base.substr(0, base.size() - (gz ? 8 : 5));
    if (dir == "ID" ? !is_valid_id(stem) : (stem != "db" && stem != "modules" && stem != "vulns")) {
      return refused("\"" + name + "\" is not a document of the database layout");
    }
    const std::string doc = std::string(dir) + "/" + std::string(stem);
    if (body.size() > limit) {
      return refused(name + " is over " + std::to_string(limit) + " bytes");
    }
    if (!gz) {
      plain.emplace(doc, body);
      continue;
    }
    std::string error;
    auto content = gunzip(body, limit, error);
    if (!content) return refused(name + ": " + error);
    total += content->size();
    if (total > limits.max_total) {
      return refused("the database is over " + std::to_string(limits.max_total) +
                     " bytes decompressed");
    }
    unzipped.emplace(doc, std::move(*content));
  }
  for (auto& [doc, content] : unzipped) {
    auto it = plain.find(doc);
    if (it == plain.end()) {
      plain.emplace(doc, std::move(content));
    } else if (it->second != content) {
      return refused(doc + ".json.gz differs from " + doc + ".json");
    }
  }
  return {std::move(plain), ""};
}

ReadResult read_database(const std::filesystem::path& path, const Limits& limits) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (ec) throw std::system_error(ec, "cannot read " + path.string());
  if (std::filesystem::is_directory(st)) return read_directory(path, limits);
  return read_zip(path, limits);
}

}  // namespace stoa::vulndb

#include "stoa/store/gcs/upload.hpp"

#include <algorithm>
#include <random>
#include <thread>

#include "stoa/store/keys.hpp"
#include "stoa/text/ascii.hpp"
#include "stoa/text/json.hpp"

namespace stoa::store::gcs {

namespace {

// The object resource sent with an insert: its name, and a type that keeps GCS from guessing
// (and from transcoding on download).
std::string metadata_json(const Client& client, const std::string& key) {
  std::string out = R"({"name":)";
  text::append_json_string(out, client.options().prefix + key);
  out += R"(,"contentType":"application/octet-stream"})";
  return out;
}

std::string random_hex(std::size_t n) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::random_device rd;
  std::string out;
  while (out.size() < n) {
    std::uint32_t v = rd();
    for (int i = 0; i < 8 && out.size() < n; ++i, v >>= 4) out += k_hex[v & 15];
  }
  return out;
}

// What a resumable session did with one chunk.
enum class Chunk { more, done, exists, failed };

}  // namespace

bool insert_multipart(Client& client, const std::string& key, const Content& content,
                      bool if_absent) {
  // A random boundary: 128 bits that the object's bytes will not happen to contain.
  const std::string boundary = "stoa-" + random_hex(32);
  Request q;
  q.method = "POST";
  q.target = client.upload_path();
  q.query = "uploadType=multipart";
  if (if_absent) q.query += "&ifGenerationMatch=0";
  q.headers.push_back("Content-Type: multipart/related; boundary=" + boundary);
  q.head = "--" + boundary + "\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n" +
           metadata_json(client, key) + "\r\n--" + boundary +
           "\r\nContent-Type: application/octet-stream\r\n\r\n";
  if (content.bytes != nullptr) {
    q.head += *content.bytes;
  } else {
    q.fd = content.fd;
    q.length = content.size;
  }
  q.tail = "\r\n--" + boundary + "--\r\n";
  q.what = "insert " + keys::printable(key);
  const Response r = client.perform(q);
  if (r.status == 200 || r.status == 201) return true;
  if (r.status == 412) return false;
  fail(q.what + ": " + describe(r));
}

bool insert_resumable(Client& client, const std::string& key, int fd, std::uint64_t size) {
  const GcsOptions& o = client.options();
  const std::string what = "resumable upload of " + keys::printable(key);
  std::string last_error;
  std::chrono::milliseconds backoff = o.first_backoff;
  for (int session = 1; session <= o.max_attempts; ++session) {
    if (session > 1) {
      std::this_thread::sleep_for(backoff);
      backoff *= 2;
    }
    Request start;
    start.method = "POST";
    start.target = client.upload_path();
    start.query = "uploadType=resumable&ifGenerationMatch=0";
    start.headers.emplace_back("Content-Type: application/json; charset=UTF-8");
    start.headers.emplace_back("X-Upload-Content-Type: application/octet-stream");
    start.headers.push_back("X-Upload-Content-Length: " + std::to_string(size));
    start.head = metadata_json(client, key);
    start.what = "start " + what;
    const Response sr = client.perform(start);
    if (sr.status == 412) return false;
    if (sr.status != 200 && sr.status != 201) fail(start.what + ": " + describe(sr));
    const std::string* location = sr.header("location");
    if (location == nullptr || location->empty()) fail(start.what + ": no session URL");
    const std::string url = *location;

    std::uint64_t offset = 0;
    Chunk state = Chunk::more;
    while (state == Chunk::more) {
      const std::uint64_t n = std::min(o.chunk_size, size - offset);
      const bool last = offset + n == size;
      Request up;
      up.method = "PUT";
      up.target = url;
      up.fd = fd;
      up.offset = offset;
      up.length = n;
      up.retry = false;
      up.headers.push_back("Content-Range: bytes " + std::to_string(offset) + "-" +
                           std::to_string(offset + n - 1) + "/" + std::to_string(size));
      up.what =
          what + " (bytes " + std::to_string(offset) + "-" + std::to_string(offset + n - 1) + ")";
      Response ur;
      try {
        ur = client.perform(up);
      } catch (const StoreError& e) {
        last_error = e.what();
        state = Chunk::failed;
        break;
      }
      if (ur.status == 200 || ur.status == 201) {
        state = Chunk::done;
      } else if (ur.status == 412) {
        state = Chunk::exists;
      } else if (ur.status == 308 && !last) {
        // "Range: bytes=0-<last byte persisted>": GCS may keep less than it was sent.
        const std::string* range = ur.header("range");
        std::uint64_t persisted = offset + n;
        if (range != nullptr && range->starts_with("bytes=0-")) {
          const auto end = text::parse_u64(std::string_view(*range).substr(8));
          if (!end || *end + 1 > offset + n) fail(up.what + ": bad Range in answer: " + *range);
          persisted = *end + 1;
        } else if (range == nullptr) {
          persisted = 0;  // nothing persisted yet
        }
        if (persisted <= offset && n > 0) {
          last_error = up.what + ": the server kept none of the chunk";
          state = Chunk::failed;
        } else {
          offset = persisted;
        }
      } else if (ur.status >= 500 || ur.status == 429 || ur.status == 408 || ur.status == 404 ||
                 ur.status == 410 || ur.status == 308) {
        // A transient failure, or a session that is gone: a new session from the first byte.
        last_error = up.what + ": " + describe(ur);
        state = Chunk::failed;
      } else {
        fail(up.what + ": " + describe(ur));
      }
    }
    if (state == Chunk::done) return true;
    if (state == Chunk::exists) return false;
  }
  fail(what + ": " + last_error + " (after " + std::to_string(o.max_attempts) + " sessions)");
}

}  // namespace stoa::store::gcs

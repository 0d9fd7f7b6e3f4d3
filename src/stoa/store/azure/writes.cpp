#include "stoa/store/azure/writes.hpp"

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "stoa/store/azure/shared_key.hpp"
#include "stoa/store/azure/xml.hpp"
#include "stoa/store/keys.hpp"

namespace stoa::store::azure {

namespace {

// What a conditional create's answer means: true created, false existed; throws otherwise.
bool created(const Request& q, const Response& r) {
  if (r.status == 201) return true;
  if (r.status == 412 || (r.status == 409 && r.error_code() == "BlobAlreadyExists")) return false;
  fail(q.what + ": " + describe(r));
}

// 24 bytes, base64 without padding (32 characters): 16 hex digits of this upload, 8 decimal
// digits of the block. Every id of a blob has the same length, as the service requires.
std::string block_id(const std::string& upload, int block) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%08d", block);
  return shared_key::base64_encode(upload + digits);
}

std::string random_upload_id() {
  std::random_device rd;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%08x%08x", rd(), rd());
  return hex;
}

}  // namespace

bool put_blob(Client& client, const std::string& key, int fd, std::uint64_t size) {
  Request q;
  q.method = "PUT";
  q.blob = client.blob_of(key);
  q.fd = fd;
  q.length = size;
  q.headers = {{"x-ms-blob-type", "BlockBlob"}, {"If-None-Match", "*"}};
  q.what = "Put Blob " + keys::printable(key);
  return created(q, client.perform(q));
}

bool put_blocks(Client& client, const std::string& key, int fd, std::uint64_t size) {
  const std::string what = keys::printable(key);
  const std::string upload = random_upload_id();
  const std::uint64_t block_size = client.options().block_size;
  std::vector<std::string> ids;
  int block = 0;
  for (std::uint64_t off = 0; off < size; off += block_size, ++block) {
    Request up;
    up.method = "PUT";
    up.blob = client.blob_of(key);
    ids.push_back(block_id(upload, block));
    up.query = {{"comp", "block"}, {"blockid", ids.back()}};
    up.fd = fd;
    up.offset = off;
    up.length = std::min(block_size, size - off);
    up.what = "Put Block " + std::to_string(block) + " of " + what;
    const Response r = client.perform(up);
    if (r.status != 201) fail(up.what + ": " + describe(r));
  }
  const std::string body = xml::block_list(ids);
  Request commit;
  commit.method = "PUT";
  commit.blob = client.blob_of(key);
  commit.query = {{"comp", "blocklist"}};
  commit.bytes = &body;
  commit.headers = {{"Content-Type", "application/xml"}, {"If-None-Match", "*"}};
  commit.what = "Put Block List " + what;
  return created(commit, client.perform(commit));
}

void replace_blob(Client& client, const std::string& key, const std::string& bytes) {
  Request q;
  q.method = "PUT";
  q.blob = client.blob_of(key);
  q.bytes = &bytes;
  q.headers = {{"x-ms-blob-type", "BlockBlob"},
               {"x-ms-blob-content-type", "text/plain; charset=utf-8"}};
  q.what = "Put Blob " + keys::printable(key);
  const Response r = client.perform(q);
  if (r.status != 201) fail(q.what + ": " + describe(r));
}

}  // namespace stoa::store::azure

#include "stoa/store/s3/writes.hpp"

#include <unistd.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "stoa/store/keys.hpp"
#include "stoa/store/s3/sigv4.hpp"
#include "stoa/store/s3/xml.hpp"

namespace stoa::store::s3 {

namespace {

void abort_upload(Client& client, const std::string& key, const std::string& upload_id) noexcept {
  try {
    Request q;
    q.method = "DELETE";
    q.path = client.object_path(key);
    q.query = sigv4::canonical_query({{"uploadId", upload_id}});
    q.what = "AbortMultipartUpload " + keys::printable(key);
    (void)client.perform(q);
  } catch (const StoreError&) {
    // Best effort: a bucket lifecycle rule for incomplete uploads collects what is left.
  }
}

// A one-part multipart upload over the existing probe object: complete must answer 412.
bool probe_multipart(Client& client, const std::string& path, const std::string& name) {
  Request create;
  create.method = "POST";
  create.path = path;
  create.query = sigv4::canonical_query({{"uploads", ""}});
  create.what = "CreateMultipartUpload probe " + name;
  const Response cr = client.perform(create);
  if (cr.status != 200) fail("multipart upload probe: " + describe(cr));
  const std::string id = xml::parse_upload_id(cr.body);
  if (id.empty()) fail("multipart upload probe: no UploadId");
  const std::string bytes = "probe part\n";
  Request up;
  up.method = "PUT";
  up.path = path;
  up.query = sigv4::canonical_query({{"partNumber", "1"}, {"uploadId", id}});
  up.bytes = &bytes;
  up.what = "UploadPart probe";
  const Response ur = client.perform(up);
  const std::string* et = ur.header("etag");
  bool supported = false;
  if (ur.status == 200 && et != nullptr) {
    const std::string complete = xml::complete_multipart_upload({*et});
    Request done;
    done.method = "POST";
    done.path = path;
    done.query = sigv4::canonical_query({{"uploadId", id}});
    done.bytes = &complete;
    done.headers.emplace_back("If-None-Match: *");
    done.what = "CompleteMultipartUpload probe";
    const Response dr = client.perform(done);
    supported = dr.status == 412 || xml::parse_error(dr.body).code == "PreconditionFailed";
    if (supported || dr.status != 200) {
      Request ab;
      ab.method = "DELETE";
      ab.path = path;
      ab.query = sigv4::canonical_query({{"uploadId", id}});
      ab.what = "AbortMultipartUpload probe";
      (void)client.perform(ab);
    }
  }
  return supported;
}

}  // namespace

// PUT of one object. true: created; false: 412 (it existed). Throws otherwise.
bool put_object(Client& client, const std::string& key, int fd, std::uint64_t size,
                bool conditional) {
  Request q;
  q.method = "PUT";
  q.path = client.object_path(key);
  q.fd = fd;
  q.length = size;
  if (conditional) q.headers.emplace_back("If-None-Match: *");
  q.what = "PUT " + keys::printable(key);
  const Response r = client.perform(q);
  if (r.status == 200) return true;
  if (r.status == 412) return false;
  fail(q.what + ": " + describe(r));
}

bool put_multipart(Client& client, const std::string& key, int fd, std::uint64_t size,
                   bool conditional) {
  const std::string what = keys::printable(key);
  Request create;
  create.method = "POST";
  create.path = client.object_path(key);
  create.query = sigv4::canonical_query({{"uploads", ""}});
  create.what = "CreateMultipartUpload " + what;
  const Response cr = client.perform(create);
  if (cr.status != 200) fail(create.what + ": " + describe(cr));
  const std::string upload_id = xml::parse_upload_id(cr.body);
  if (upload_id.empty()) fail(create.what + ": no UploadId in the answer");

  try {
    std::vector<std::string> etags;
    int part = 1;
    for (std::uint64_t off = 0; off < size; off += client.options().part_size, ++part) {
      Request up;
      up.method = "PUT";
      up.path = client.object_path(key);
      up.query =
          sigv4::canonical_query({{"partNumber", std::to_string(part)}, {"uploadId", upload_id}});
      up.fd = fd;
      up.offset = off;
      up.length = std::min(client.options().part_size, size - off);
      up.what = "UploadPart " + std::to_string(part) + " of " + what;
      const Response ur = client.perform(up);
      if (ur.status != 200) fail(up.what + ": " + describe(ur));
      const std::string* et = ur.header("etag");
      if (et == nullptr) fail(up.what + ": no ETag in the answer");
      etags.push_back(*et);
    }
    const std::string complete = xml::complete_multipart_upload(etags);

    Request done;
    done.method = "POST";
    done.path = client.object_path(key);
    done.query = sigv4::canonical_query({{"uploadId", upload_id}});
    done.bytes = &complete;
    if (conditional) done.headers.emplace_back("If-None-Match: *");
    done.what = "CompleteMultipartUpload " + what;
    const Response dr = client.perform(done);
    if (dr.status == 412) {
      abort_upload(client, key, upload_id);
      return false;
    }
    // CompleteMultipartUpload may answer 200 with an <Error> document in the body.
    const xml::ErrorDocument e = xml::parse_error(dr.body);
    if (dr.status != 200 || !e.code.empty()) {
      if (e.code == "PreconditionFailed") {
        abort_upload(client, key, upload_id);
        return false;
      }
      // A retried completion whose first attempt did complete (the answer was lost): the
      // upload is gone and the key holds bytes, ours or a racing writer's.
      if (e.code == "NoSuchUpload" && client.exists(key)) return false;
      fail(done.what + ": " + describe(dr));
    }
    return true;
  } catch (const StoreError&) {
    abort_upload(client, key, upload_id);
    throw;
  }
}

ConditionalWrites probe_conditional_writes(Client& client) {
  const S3Options& o = client.options();
  ConditionalWrites out;
  std::random_device rd;
  const std::string name = o.prefix + ".stoa-probe/" + std::to_string(rd()) + std::to_string(rd()) +
                           std::to_string(::getpid());
  const std::string path = client.bucket_path() + "/" + sigv4::uri_encode(name, true);
  const std::string bytes = "stoa conditional-write probe\n";
  auto put = [&] {
    Request q;
    q.method = "PUT";
    q.path = path;
    q.bytes = &bytes;
    q.headers.emplace_back("If-None-Match: *");
    q.what = "PUT probe " + name;
    return client.perform(q);
  };
  const Response first = put();
  if (first.status == 200) {
    const Response second = put();
    out.put = second.status == 412;
    if (second.status != 200 && second.status != 412 && second.status != 501) {
      fail(std::string("conditional-write probe: ") + describe(second));
    }
    out.multipart = out.put && probe_multipart(client, path, name);
  } else if (first.status == 501 || first.status == 400) {
    out.put = out.multipart = false;  // the server refuses the header
  } else {
    fail("write to bucket " + o.bucket + " (conditional-write probe): " + describe(first));
  }
  Request del;
  del.method = "DELETE";
  del.path = path;
  del.what = "DELETE probe " + name;
  (void)client.perform(del);  // a leftover probe object is harmless
  return out;
}

}  // namespace stoa::store::s3

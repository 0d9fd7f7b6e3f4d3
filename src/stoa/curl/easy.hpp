#pragma once
// libcurl handle ownership: every CURL*, CURLSH* and curl_slist* is a unique_ptr with its deleter,
// and libcurl's process-wide initialization happens once. The only header of stoa that
// components include to hold libcurl handles (fetch, trace, store/s3).

#include <curl/curl.h>

#include <memory>
#include <string>
#include <type_traits>

namespace stoa::curl {

// Runs curl_global_init exactly once per process (a function-local static: whichever thread
// first needs libcurl initializes it, the others wait). libcurl requires it before any other call
// and does not make a concurrent first use safe on every version. This is the C library's process
// state, not a stoa singleton: nothing is registered or looked up. curl_global_cleanup is never
// called; handles may still exist at exit. Throws std::runtime_error when it fails.
void ensure_initialized();

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;

struct ShareDeleter {
  void operator()(CURLSH* s) const { curl_share_cleanup(s); }
};
using Share = std::unique_ptr<CURLSH, ShareDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// A new easy handle (ensure_initialized() first). Throws std::runtime_error.
Easy new_easy();

[[noreturn]] void throw_setopt_failed(CURLcode rc);

// curl_easy_setopt that throws std::runtime_error when libcurl refuses the option.
template <class T>
void set(CURL* h, CURLoption option, T value) {
  static_assert(std::is_same_v<T, long> || std::is_same_v<T, curl_off_t> || std::is_pointer_v<T>,
                "libcurl options take a long, a curl_off_t or a pointer here");
  if (const CURLcode rc = curl_easy_setopt(h, option, value); rc != CURLE_OK) {
    throw_setopt_failed(rc);
  }
}

// Appends one header line ("Name: value", "Name:" to remove a header libcurl would send,
// "Name;" to send it empty) to `list`. Throws std::bad_alloc.
void append(Slist& list, const std::string& line);

}  // namespace stoa::curl

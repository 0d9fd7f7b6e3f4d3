#pragma once
// libcurl handle ownership shared by the fetch component's .cpp files (private to fetch/).

#include <curl/curl.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace stoa::fetch::curl {

// libcurl requires curl_global_init once per process before any other call, and it is not
// reference-counted safely against concurrent first use on every libcurl version. A function-local
// static is C++'s run-exactly-once-on-first-use guarantee, so whichever thread first builds an
// upstream (or calls get_once) initializes libcurl and every other thread waits for it. This is
// process state owned by the C library, not a stoa singleton: nothing is registered or looked up.
// curl_global_cleanup is deliberately never called; handles may still exist at exit.
inline void ensure_curl_initialized() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    throw std::runtime_error(std::string("curl_global_init: ") + curl_easy_strerror(rc));
  }
}

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

inline Easy new_easy() {
  Easy h(curl_easy_init());
  if (!h) throw std::runtime_error("curl_easy_init failed");
  return h;
}

template <class T>
void set(CURL* h, CURLoption option, T value) {
  static_assert(std::is_same_v<T, long> || std::is_pointer_v<T>,
                "libcurl options take a long or a pointer here");
  if (const CURLcode rc = curl_easy_setopt(h, option, value); rc != CURLE_OK) {
    throw std::runtime_error(std::string("curl_easy_setopt: ") + curl_easy_strerror(rc));
  }
}

}  // namespace stoa::fetch::curl

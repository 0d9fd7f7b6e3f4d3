#include "stoa/curl/easy.hpp"

#include <new>
#include <stdexcept>

namespace stoa::curl {

void ensure_initialized() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    throw std::runtime_error(std::string("curl_global_init: ") + curl_easy_strerror(rc));
  }
}

Easy new_easy() {
  Easy h(curl_easy_init());
  if (!h) throw std::runtime_error("curl_easy_init failed");
  return h;
}

void throw_setopt_failed(CURLcode rc) {
  throw std::runtime_error(std::string("curl_easy_setopt: ") + curl_easy_strerror(rc));
}

void append(Slist& list, const std::string& line) {
  curl_slist* head = curl_slist_append(list.get(), line.c_str());
  if (head == nullptr) throw std::bad_alloc();
  static_cast<void>(list.release());  // `head` is the same list, one node longer
  list.reset(head);
}

}  // namespace stoa::curl

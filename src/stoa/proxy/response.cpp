#include "stoa/proxy/response.hpp"

namespace stoa::proxy {

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::hit:
      return "hit";
    case Outcome::miss:
      return "miss";
    case Outcome::coalesced:
      return "coalesced";
    case Outcome::stale:
      return "stale";
    case Outcome::not_found:
      return "not-found";
    case Outcome::rejected:
      return "rejected";
    case Outcome::failed:
      return "failed";
    case Outcome::internal:
      return "internal";
  }
  return "unknown";
}

void confine(Response& r, Audience a) {
  constexpr std::string_view k_public = "public";
  if (a == Audience::shared || !r.cache_control.starts_with(k_public)) return;
  r.cache_control.replace(0, k_public.size(), "private");
}

Response error_response(int status, std::string message, Outcome outcome) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.cache_control = "no-store";
  // One line, printable: the go command drops the whole detail otherwise.
  for (char& c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  r.body = std::move(message);
  r.body += '\n';
  r.outcome = outcome;
  return r;
}

}  // namespace stoa::proxy

// parse_connection_string (azure.hpp): the connection-string form the Azure SDKs and tools read
// from AZURE_STORAGE_CONNECTION_STRING, reduced to what a Blob client needs.

#include <map>
#include <string>

#include "stoa/store/azure/azure.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::store {

namespace {

// The storage emulator's published development account (Azurite's default): not a secret.
constexpr const char* k_dev_account = "devstoreaccount1";
constexpr const char* k_dev_key =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

}  // namespace

std::optional<AzureOptions> parse_connection_string(std::string_view text, std::string* error) {
  auto bad = [&](std::string why) -> std::optional<AzureOptions> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  std::map<std::string, std::string> fields;  // names lowercased
  while (!text.empty()) {
    const std::size_t semi = text.find(';');
    const std::string_view part = text::trim_space(text.substr(0, semi));
    text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      // The part may be a secret: name only its position, never its text.
      return bad("a part without name=value (after " + std::to_string(fields.size()) +
                 " good parts)");
    }
    fields[text::to_lower(text::trim_space(part.substr(0, eq)))] =
        std::string(text::trim_space(part.substr(eq + 1)));
  }
  auto get = [&](const char* name) {
    const auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second;
  };
  AzureOptions o;
  if (text::iequals(get("usedevelopmentstorage"), "true")) {
    o.account = k_dev_account;
    o.account_key = k_dev_key;
    o.endpoint = std::string("http://127.0.0.1:10000/") + k_dev_account;
    return o;
  }
  o.account = get("accountname");
  o.account_key = get("accountkey");
  o.sas_token = get("sharedaccesssignature");
  if (o.sas_token.starts_with('?')) o.sas_token.erase(0, 1);
  o.endpoint = get("blobendpoint");
  if (o.endpoint.empty() && !o.account.empty()) {
    std::string protocol = get("defaultendpointsprotocol");
    if (protocol.empty()) protocol = "https";
    if (protocol != "https" && protocol != "http") {
      return bad("DefaultEndpointsProtocol must be https or http");
    }
    std::string suffix = get("endpointsuffix");
    if (suffix.empty()) suffix = "core.windows.net";
    o.endpoint = protocol + "://" + o.account + ".blob." + suffix;
  }
  if (o.endpoint.empty()) return bad("neither AccountName nor BlobEndpoint is set");
  if (o.account_key.empty() && o.sas_token.empty()) {
    return bad("neither AccountKey nor SharedAccessSignature is set");
  }
  if (!o.account_key.empty() && o.account.empty()) return bad("AccountKey without AccountName");
  return o;
}

}  // namespace stoa::store

#include "stoa/store/azure/xml.hpp"

#include <pugixml.hpp>

namespace stoa::store::azure::xml {

namespace {

bool load(pugi::xml_document& doc, std::string_view body) {
  return !body.empty() && doc.load_buffer(body.data(), body.size());
}

}  // namespace

ErrorDocument parse_error(std::string_view body) {
  ErrorDocument e;
  pugi::xml_document doc;
  if (!load(doc, body)) return e;
  const pugi::xml_node err = doc.child("Error");
  e.code = err.child_value("Code");
  e.message = err.child_value("Message");
  return e;
}

std::optional<ListPage> parse_list_page(std::string_view body) {
  pugi::xml_document doc;
  if (!load(doc, body)) return std::nullopt;
  const pugi::xml_node root = doc.child("EnumerationResults");
  if (!root) return std::nullopt;
  ListPage page;
  for (const pugi::xml_node b : root.child("Blobs").children("Blob")) {
    const pugi::xml_node name = b.child("Name");
    if (name.attribute("Encoded").as_bool()) return std::nullopt;
    page.names.emplace_back(name.child_value());
  }
  page.next_marker = root.child_value("NextMarker");
  return page;
}

std::string block_list(const std::vector<std::string>& block_ids) {
  // Block ids are base64 (A-Z a-z 0-9 + / =): nothing to escape.
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
  for (const std::string& id : block_ids) out += "<Latest>" + id + "</Latest>";
  out += "</BlockList>";
  return out;
}

}  // namespace stoa::store::azure::xml

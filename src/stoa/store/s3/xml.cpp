#include "stoa/store/s3/xml.hpp"

#include <pugixml.hpp>

namespace stoa::store::s3::xml {

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

std::string parse_upload_id(std::string_view body) {
  pugi::xml_document doc;
  if (!load(doc, body)) return {};
  return doc.child("InitiateMultipartUploadResult").child_value("UploadId");
}

std::optional<ListPage> parse_list_page(std::string_view body) {
  pugi::xml_document doc;
  if (!load(doc, body)) return std::nullopt;
  const pugi::xml_node root = doc.child("ListBucketResult");
  if (!root) return std::nullopt;
  ListPage page;
  for (const pugi::xml_node c : root.children("Contents"))
    page.keys.emplace_back(c.child_value("Key"));
  page.truncated = std::string_view(root.child_value("IsTruncated")) == "true";
  page.next_token = root.child_value("NextContinuationToken");
  return page;
}

std::string complete_multipart_upload(const std::vector<std::string>& etags) {
  std::string out = "<CompleteMultipartUpload>";
  for (std::size_t i = 0; i < etags.size(); ++i) {
    out += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + escape(etags[i]) +
           "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::string escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace stoa::store::s3::xml

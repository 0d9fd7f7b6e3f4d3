#include "stoa/text/redact.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace stoa::text {
namespace {

TEST(RedactCredentials, Table) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // Userinfo: dropped whole, the user too.
      {"https://user:pw@a.example/p", "https://a.example/p"},
      {"https://TOKEN@a.example", "https://a.example"},
      {"redis://:pw@h:6379/0", "redis://h:6379/0"},
      {"HTTPS://u:p@H.example", "HTTPS://H.example"},
      // An unencoded '@' in the password: the last '@' before the path ends the userinfo.
      {"http://u:p@w@[::1]:80/x@y", "http://[::1]:80/x@y"},
      // IPv6 hosts.
      {"http://u:pw@[2001:db8::1]:8080/", "http://[2001:db8::1]:8080/"},
      {"http://[::1]:80/p", "http://[::1]:80/p"},
      // Percent-encoded userinfo.
      {"https://u%40x:p%3Aw%2F@h/", "https://h/"},
      // A '?' or '#' in a raw password does not end the userinfo.
      {"https://u:p?w#x@h/", "https://h/"},
      // '@' in paths is no userinfo.
      {"https://a.example/x@v1.0.0", "https://a.example/x@v1.0.0"},
      {"https://proxy.example/m.example/x/@v/list", "https://proxy.example/m.example/x/@v/list"},
      {"http://h:80/p@x", "http://h:80/p@x"},
      // GOPROXY-style lists.
      {"https://u:secret@h.example/x,https://h2|http://a@b",
       "https://h.example/x,https://h2|http://b"},
      {"https://h1,https://u:pw@h2", "https://h1,https://h2"},
      {"http://a@b,https://u:pw@c", "http://b,https://c"},
      // URLs inside messages.
      {"go: get https://user:s3cret@h.example/x: 401 and http://a:b@c/",
       "go: get https://h.example/x: 401 and http://c/"},
      {"fatal: unable to access 'https://u:pw@h/r/': 403",
       "fatal: unable to access 'https://h/r/': 403"},
      {"see <https://u:pw@h> or \"http://x:y@z\"", "see <https://h> or \"http://z\""},
      {"https://h.example: 401 from user@x", "https://h.example: 401 from user@x"},
      // No scheme: not recognizable (module@version looks the same).
      {"plain", "plain"},
      {"user:pw@host/x", "user:pw@host/x"},
      {"go: example.com/m@v1.0.0: not found", "go: example.com/m@v1.0.0: not found"},
      {"", ""},
      {"://", "://"},
      {"://@", "://"},
      {"a://b@", "a://"},
      // Control characters end the authority.
      {"https://h\n@x", "https://h\n@x"},
      {"https://u:p\x01@h", "https://u:p\x01@h"},
      // Invalid UTF-8 in the password is hidden like any byte.
      {"https://u:\xff\xfe@h", "https://h"},
      // Password parameters: libpq key=value strings and URI queries.
      {"host=h password=pw dbname=d", "host=h password=REDACTED dbname=d"},
      {"host=h password = pw dbname=d", "host=h password = REDACTED dbname=d"},
      {"host=h password='p w\\' x' dbname=d", "host=h password=REDACTED dbname=d"},
      {"password='unterminated", "password=REDACTED"},
      {"postgresql://h/d?user=u&password=pw&sslmode=require",
       "postgresql://h/d?user=u&password=REDACTED&sslmode=require"},
      {"postgresql://h/d?sslpassword=k&PASSWORD=pw",
       "postgresql://h/d?sslpassword=REDACTED&PASSWORD=REDACTED"},
      {"postgresql://u:pw@h/d?password=x", "postgresql://h/d?password=REDACTED"},
      {"password=", "password=REDACTED"},
      {"password", "password"},
      {"password: x", "password: x"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(redact_credentials(in), want) << in;
}

TEST(RedactCredentials, NeverShowsThePassword) {
  const std::string password = "Zq9-secret";
  for (const char* pattern :
       {"https://u:{}@h/x", "https://{}@h", "x https://a:{}@[::1]:1/ y", "k=v password={} x=y",
        "postgres://h/?a=b&password={}", "http://u:{}@{}@h/", "a://x:{}@"}) {
    std::string in(pattern);
    for (auto p = in.find("{}"); p != std::string::npos; p = in.find("{}"))
      in.replace(p, 2, password);
    EXPECT_EQ(redact_credentials(in).find("secret"), std::string::npos) << in;
  }
}

TEST(ScrubUserinfo, RemovesEchoedCredentials) {
  const std::string url = "https://alice:p%40ssword@h.example/x";
  EXPECT_EQ(scrub_userinfo("denied for alice with p@ssword and p%40ssword", url),
            "denied for *** with *** and ***");
  EXPECT_EQ(scrub_userinfo("nothing here", url), "nothing here");
  EXPECT_EQ(scrub_userinfo("alice", "https://h.example/x"), "alice");
  EXPECT_EQ(scrub_userinfo("ab is short", "https://ab:cd@h/"), "ab is short");
  // Not percent-decodable: hidden as written.
  EXPECT_EQ(scrub_userinfo("x %zz y", "https://u:%zz@h/"), "x *** y");
}

}  // namespace
}  // namespace stoa::text

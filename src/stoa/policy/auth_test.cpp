#include "stoa/policy/auth.hpp"

#include <crypt.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <fmt/format.h>

#include "stoa/policy/policy.hpp"

namespace stoa::policy {
namespace {

std::string bcrypt(const std::string& password, const char* prefix = "$2b$") {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn(prefix, 4, nullptr, 0, salt, sizeof salt), nullptr);
  crypt_data data{};
  const char* h = crypt_rn(password.c_str(), salt, &data, sizeof data);
  EXPECT_NE(h, nullptr);
  return h;
}

unsigned u(char c) { return static_cast<unsigned char>(c); }

std::string basic(std::string_view user_pass) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < user_pass.size(); i += 3) {
    const unsigned n = u(user_pass[i]) << 16 | u(user_pass[i + 1]) << 8 | u(user_pass[i + 2]);
    out += {k[n >> 18], k[(n >> 12) & 63], k[(n >> 6) & 63], k[n & 63]};
  }
  if (user_pass.size() - i == 1) {
    const unsigned n = u(user_pass[i]) << 16;
    out += {k[n >> 18], k[(n >> 12) & 63], '=', '='};
  } else if (user_pass.size() - i == 2) {
    const unsigned n = u(user_pass[i]) << 16 | u(user_pass[i + 1]) << 8;
    out += {k[n >> 18], k[(n >> 12) & 63], k[(n >> 6) & 63], '='};
  }
  return "Basic " + out;
}

std::string sha_hex(std::string_view s) {
  unsigned char d[32];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  std::string out;
  for (unsigned char c : d) out += fmt::format("{:02x}", c);
  return out;
}

std::unique_ptr<Credentials> creds(const std::string& users, const std::string& tokens) {
  auto r = Credentials::parse(users, "users", tokens, "tokens");
  if (auto* e = std::get_if<std::string>(&r)) {
    ADD_FAILURE() << *e;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<Credentials>>(r));
}

TEST(Base64, RoundTrips) {
  EXPECT_EQ(decode_base64("YWxpY2U6cHc="), "alice:pw");
  EXPECT_EQ(decode_base64("YQ=="), "a");
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_FALSE(decode_base64("YQ="));
  EXPECT_FALSE(decode_base64("Y=Q="));
  EXPECT_FALSE(decode_base64("YQ!!"));
}

TEST(Credentials, BasicBcryptAndTokens) {
  const auto c =
      creds("# users\nalice:" + bcrypt("s3cret") + "\nbob:" + bcrypt("pw", "$2y$") + "\n",
            "ci " + sha_hex("tok-123") + "\n");
  ASSERT_TRUE(c);
  using S = AuthResult::Status;
  EXPECT_EQ(c->authenticate("").status, S::anonymous);
  auto a = c->authenticate(basic("alice:s3cret"));
  EXPECT_EQ(a.status, S::ok);
  EXPECT_EQ(a.principal, "alice");
  EXPECT_FALSE(c->is_slow(basic("alice:s3cret")));  // remembered
  EXPECT_EQ(c->authenticate(basic("alice:s3cret")).status, S::ok);
  EXPECT_TRUE(c->is_slow(basic("alice:wrong")));
  EXPECT_EQ(c->authenticate(basic("alice:wrong")).status, S::bad_credentials);
  EXPECT_FALSE(c->is_slow(basic("alice:wrong")));  // a failure is remembered too
  EXPECT_EQ(c->authenticate(basic("alice:wrong")).status, S::bad_credentials);
  EXPECT_FALSE(c->is_slow(basic("carol:x")));  // unknown user: no bcrypt
  EXPECT_FALSE(c->is_slow("Bearer tok-123"));  // tokens: one SHA-256
  EXPECT_EQ(c->authenticate(basic("bob:pw")).principal, "bob");
  EXPECT_EQ(c->authenticate(basic("carol:pw")).status, S::bad_credentials);
  EXPECT_EQ(c->authenticate("Bearer tok-123").principal, "ci");
  EXPECT_EQ(c->authenticate("bearer tok-123").principal, "ci");
  EXPECT_EQ(c->authenticate(basic("ci:tok-123")).principal, "ci");  // token as netrc password
  EXPECT_EQ(c->authenticate(basic("alice:tok-123")).status, S::bad_credentials);
  EXPECT_EQ(c->authenticate("Bearer tok-1234").status, S::bad_credentials);
  EXPECT_EQ(c->authenticate("Digest x").status, S::bad_credentials);
  EXPECT_EQ(c->authenticate("Basic !!!!").status, S::bad_credentials);
  EXPECT_EQ(c->authenticate("Basic").status, S::bad_credentials);
}

TEST(Credentials, HashPasswordMakesUsableLines) {
  const auto h = hash_password("pa:ss word", 4);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->starts_with("$2b$04$")) << *h;
  const auto c = creds("u:" + *h + "\n", "");
  EXPECT_EQ(c->authenticate(basic("u:pa:ss word")).principal, "u");
  EXPECT_NE(hash_password("pa:ss word", 4), h);  // salted
}

TEST(Credentials, FileErrorsNameTheLineNotTheSecret) {
  struct Case {
    std::string users, tokens, want;
  } cases[] = {
      {"alice\n", "", "users:1: expected name:bcrypt-hash"},
      {"alice:{SHA}abc\n", "", "only bcrypt"},
      {"\nalice:$1$abc\n", "", "users:2:"},
      {"", "ci zz\n", "tokens:1: the token digest"},
      {"", "ci\n", "expected: name"},
  };
  for (const auto& c : cases) {
    auto r = Credentials::parse(c.users, "users", c.tokens, "tokens");
    auto* e = std::get_if<std::string>(&r);
    ASSERT_NE(e, nullptr) << c.users << c.tokens;
    EXPECT_NE(e->find(c.want), std::string::npos) << *e;
  }
}

TEST(Snapshot, ReadersDecideAccess) {
  auto snap = std::make_shared<Snapshot>();
  auto parsed = parse_rules(R"(
[groups]
team = ["alice"]
[[rule]]
modules = "corp.example.com/team"
action = "private"
readers = ["@team"]
[[rule]]
modules = "corp.example.com"
action = "private"
[[rule]]
modules = "example.com/gated"
readers = ["bob"]
)",
                            "t");
  snap->rules = std::get<RuleSet>(std::move(parsed));
  snap->credentials = creds("alice:" + bcrypt("a") + "\nbob:" + bcrypt("b") + "\n", "");
  using A = Decision::Access;
  EXPECT_EQ(snap->decide("corp.example.com/team/x", "", "").access, A::unauthenticated);
  EXPECT_EQ(snap->decide("corp.example.com/team/x", "", basic("alice:x")).access,
            A::unauthenticated);
  EXPECT_EQ(snap->decide("corp.example.com/team/x", "", basic("alice:a")).access, A::allowed);
  EXPECT_EQ(snap->decide("corp.example.com/team/x", "", basic("bob:b")).access, A::hidden);
  EXPECT_EQ(snap->decide("corp.example.com/other", "", basic("bob:b")).access, A::allowed);
  EXPECT_EQ(snap->decide("corp.example.com/other", "", "").access, A::unauthenticated);
  EXPECT_EQ(snap->decide("example.com/gated", "", basic("alice:a")).access, A::hidden);
  EXPECT_EQ(snap->decide("example.com/gated", "", basic("bob:b")).action, Action::cache);
  EXPECT_EQ(snap->decide("example.com/open", "", "Basic garbage").access, A::allowed);
}

// decide_as() with credentials checked once gives what decide() gives with the header, and
// serves_files() says which of those decisions hand out files (what /index and /catalog list).
TEST(Snapshot, DecideAsEqualsDecideAndServesFiles) {
  auto snap = std::make_shared<Snapshot>();
  auto parsed = parse_rules(R"(
[[rule]]
modules = "example.com/old"
versions = "<v2.0.0"
action = "deny"
[[rule]]
modules = "example.com/moved"
action = "redirect"
to = "https://elsewhere.example"
[[rule]]
modules = "example.com/frozen"
action = "offline"
[[rule]]
modules = "corp.example.com"
action = "private"
readers = ["alice"]
[[rule]]
modules = "example.com/gated"
readers = ["bob"]
)",
                            "t");
  snap->rules = std::get<RuleSet>(std::move(parsed));
  snap->credentials = creds("alice:" + bcrypt("a") + "\nbob:" + bcrypt("b") + "\n", "");
  struct Case {
    std::string_view module, version;
    bool alice, bob, anonymous;  // serves_files() for each
  } cases[] = {
      {"example.com/public", "v1.0.0", true, true, true},
      {"example.com/old", "v1.0.0", false, false, false},
      {"example.com/old", "v2.0.0", true, true, true},
      {"example.com/moved", "v1.0.0", false, false, false},
      {"example.com/frozen", "v1.0.0", true, true, true},
      {"corp.example.com/x", "v1.0.0", true, false, false},
      {"Corp.Example.com/X", "v1.0.0", true, false, false},
      {"example.com/gated", "v1.0.0", false, true, false},
      {"Example.com/GATED/sub", "v1.0.0", false, true, false},
  };
  const std::string alice = basic("alice:a"), bob = basic("bob:b");
  for (const auto& c : cases) {
    for (const auto& [auth, want] :
         {std::pair{alice, c.alice}, std::pair{bob, c.bob}, std::pair{std::string(), c.anonymous},
          std::pair{basic("alice:wrong"), c.anonymous}}) {
      const Decision d = snap->decide(c.module, c.version, auth);
      const Decision as =
          snap->decide_as(c.module, c.version, snap->credentials->authenticate(auth));
      EXPECT_EQ(as.rule, d.rule) << c.module;
      EXPECT_EQ(as.action, d.action) << c.module;
      EXPECT_EQ(as.access, d.access) << c.module << " " << auth;
      EXPECT_EQ(as.principal, d.principal) << c.module;
      EXPECT_EQ(serves_files(d), want) << c.module << "@" << c.version << " as " << auth;
    }
  }
}

}  // namespace
}  // namespace stoa::policy

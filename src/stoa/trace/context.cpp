#include "stoa/trace/context.hpp"

#include <algorithm>
#include <random>

#include "stoa/text/ascii.hpp"

namespace stoa::trace {
namespace {

using text::append_hex;
using text::lower_hex_value;  // W3C trace context: lowercase hex only
using text::trim_ows;

template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = lower_hex_value(text[2 * i]);
    const int lo = lower_hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <std::size_t N>
bool any_nonzero(const std::array<std::uint8_t, N>& bytes) {
  return std::any_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b != 0; });
}

// xoshiro256** (Blackman and Vigna). Constant-initialized, so the thread_local below needs no
// guard; seeded on first use.
class Xoshiro256 {
 public:
  std::uint64_t next() {
    if (!m_seeded) seed();
    const std::uint64_t result = rotl(m_s[1] * 5, 7) * 9;
    const std::uint64_t t = m_s[1] << 17;
    m_s[2] ^= m_s[0];
    m_s[3] ^= m_s[1];
    m_s[1] ^= m_s[2];
    m_s[0] ^= m_s[3];
    m_s[2] ^= t;
    m_s[3] = rotl(m_s[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  void seed() {
    std::random_device device;
    do {
      for (auto& word : m_s) {
        word = (std::uint64_t{device()} << 32) ^ std::uint64_t{device()};
      }
    } while ((m_s[0] | m_s[1] | m_s[2] | m_s[3]) == 0);  // the one state xoshiro cannot leave
    m_seeded = true;
  }

  std::array<std::uint64_t, 4> m_s{};
  bool m_seeded = false;
};

thread_local Xoshiro256 t_random;

void fill_random(std::uint8_t* out, std::size_t n) {
  while (n > 0) {
    std::uint64_t word = t_random.next();
    for (int i = 0; i < 8 && n > 0; ++i, --n) {
      *out++ = static_cast<std::uint8_t>(word);
      word >>= 8;
    }
  }
}

}  // namespace

bool TraceId::valid() const { return any_nonzero(bytes); }

std::string TraceId::hex() const { return text::to_hex(bytes); }

bool SpanId::valid() const { return any_nonzero(bytes); }

std::string SpanId::hex() const { return text::to_hex(bytes); }

std::optional<SpanContext> parse_traceparent(std::string_view value) {
  // version "-" trace-id "-" parent-id "-" trace-flags
  constexpr std::size_t k_length = 2 + 1 + 32 + 1 + 16 + 1 + 2;
  value = trim_ows(value);
  if (value.size() < k_length) return std::nullopt;
  std::array<std::uint8_t, 1> version{};
  if (!parse_hex(value.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0x00 && value.size() != k_length) return std::nullopt;
  if (value.size() > k_length && value[k_length] != '-') return std::nullopt;
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;

  SpanContext c;
  std::array<std::uint8_t, 1> flags{};
  if (!parse_hex(value.substr(3, 32), c.trace_id.bytes) ||
      !parse_hex(value.substr(36, 16), c.span_id.bytes) || !parse_hex(value.substr(53, 2), flags)) {
    return std::nullopt;
  }
  if (!c.valid()) return std::nullopt;
  c.flags = flags[0];
  return c;
}

std::string format_traceparent(const SpanContext& context) {
  std::string out;
  out.reserve(55);
  out += "00-";
  append_hex(out, context.trace_id.bytes);
  out += '-';
  append_hex(out, context.span_id.bytes);
  out += context.sampled() ? "-01" : "-00";
  return out;
}

std::string_view sanitize_tracestate(std::string_view value) {
  value = trim_ows(value);
  if (value.size() > k_max_tracestate) return {};
  const bool printable = std::all_of(value.begin(), value.end(), [](char c) {
    return c >= 0x20 && c <= 0x7e;  // visible ASCII and SP
  });
  return printable ? value : std::string_view{};
}

TraceId random_trace_id() {
  TraceId id;
  do {
    fill_random(id.bytes.data(), id.bytes.size());
  } while (!id.valid());
  return id;
}

SpanId random_span_id() {
  SpanId id;
  do {
    fill_random(id.bytes.data(), id.bytes.size());
  } while (!id.valid());
  return id;
}

}  // namespace stoa::trace

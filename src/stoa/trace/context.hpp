#pragma once
// Trace identity and its W3C Trace Context wire form (https://www.w3.org/TR/trace-context/):
// the `traceparent` header ("00-<trace-id>-<parent-id>-<flags>") and the opaque `tracestate`.
//
// Everything here is a value type or a pure function; the parsers take untrusted input and never
// throw. Random ids come from a per-thread PRNG: thread-safe, lock-free, not cryptographic.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::trace {

struct TraceId {
  std::array<std::uint8_t, 16> bytes{};
  bool valid() const;       // not all zero
  std::string hex() const;  // 32 lowercase hex digits
  friend bool operator==(const TraceId&, const TraceId&) = default;
};

struct SpanId {
  std::array<std::uint8_t, 8> bytes{};
  bool valid() const;       // not all zero
  std::string hex() const;  // 16 lowercase hex digits
  friend bool operator==(const SpanId&, const SpanId&) = default;
};

// Trivially copyable (25 bytes): pass it by value or pointer freely.
struct SpanContext {
  static constexpr std::uint8_t k_sampled = 0x01;

  TraceId trace_id;
  SpanId span_id;
  std::uint8_t flags = 0;  // W3C trace-flags; bit 0 is "sampled"

  bool valid() const { return trace_id.valid() && span_id.valid(); }
  bool sampled() const { return (flags & k_sampled) != 0; }
  friend bool operator==(const SpanContext&, const SpanContext&) = default;
};

// Parses one `traceparent` header value. Version 00 must be exactly
// "00-<32 hex>-<16 hex>-<2 hex>"; a higher version (not "ff") must be at least that long and,
// when longer, continue with '-' after the flags: its first four fields are read as version 00's,
// as the spec asks. Hex must be lowercase; all-zero trace or parent ids are invalid. Blanks
// (SP, HTAB) around the value are ignored. nullopt when invalid: the caller then starts a new
// trace and ignores `tracestate` too. A request with several `traceparent` headers is invalid;
// that check is the caller's (the header is not a list).
std::optional<SpanContext> parse_traceparent(std::string_view value);

// "00-<trace-id>-<span-id>-<flags>" (55 characters). Only the sampled bit of `flags` is written.
std::string format_traceparent(const SpanContext& context);

// The longest `tracestate` passed on (the spec asks to propagate at least 512 characters).
inline constexpr std::size_t k_max_tracestate = 512;

// `tracestate` is carried opaquely: returns `value` without surrounding blanks when it is at most
// k_max_tracestate characters of visible ASCII and spaces (so it cannot split a header), else
// empty (dropped, as the spec allows). The list members are not validated.
std::string_view sanitize_tracestate(std::string_view value);

// Fresh random ids, never all zero. Per-thread PRNG (xoshiro256**) seeded from
// std::random_device on first use in each thread; no lock, no allocation after seeding.
TraceId random_trace_id();
SpanId random_span_id();

}  // namespace stoa::trace

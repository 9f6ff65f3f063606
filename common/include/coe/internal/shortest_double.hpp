// shortest_double.hpp - a double as std::to_chars writes it without a format:
// the shortest digits that read back exactly, in fixed or scientific
// notation, whichever is shorter (fixed on a tie): 0.0847, 1, 1e-07.
// Standard libraries without floating-point to_chars (libc++ before 17,
// as in emscripten 3.1) get the same text from Boost.JSON's Ryu.
#pragma once

namespace coe::internal {

// Writes `x` at `out` (room for 32 chars) and returns the end (nan, inf and
// -inf as to_chars writes them).
char *write_shortest(double x, char *out);

// The fast path of write_shortest for what reports hold: a non-zero x that
// is a whole number of millionths (as rounding to six decimals leaves it),
// below 10^9 in magnitude, written from its integer digits.  Returns the
// end, or nullptr for any other x (then nothing is written).
char *write_micro_decimal(double x, char *out);

// The same from Boost.JSON's Ryu digits, whatever the standard library:
// write_shortest uses it where std::to_chars lacks doubles (and tests
// compare the two).
char *write_shortest_ryu(double x, char *out);

}  // namespace coe::internal

// directives.hpp - the fake provider's model string: comma-separated
// directives ("reply=cache_b,status=429,fail=1") that choose how the fake
// server answers.  The list and meaning of each is in fake_provider_server.hpp.
// Pure functions, no I/O; safe on any thread.
#pragma once

#include <map>
#include <string>

namespace coe::test {

struct Directives {
    std::map<std::string, std::string> values;  // key -> value ("" when bare)

    bool has(const std::string &key) const { return values.count(key) != 0; }
    std::string text(const std::string &key, const std::string &fallback = "") const;
    long number(const std::string &key, long fallback = 0) const;  // checked by parse_directives
};

// Parses and checks `model` into `out`.  Returns "" on success, otherwise
// the reason for a 400 (it names the offending directive).
std::string parse_directives(const std::string &model, Directives &out);

// The canned answer for reply=KEY (not "echo"), or nullptr for an unknown key.
const std::string *canned_reply(const std::string &key);

}  // namespace coe::test

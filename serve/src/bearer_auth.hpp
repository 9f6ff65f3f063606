// bearer_auth.hpp - `Authorization: Bearer <token>` against the configured
// tokens, compared in constant time.  Immutable; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace coe::serve {

class BearerAuth {
public:
    explicit BearerAuth(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {}
    bool enabled() const { return !tokens_.empty(); }
    // True when auth is off, or the header carries one of the tokens.  The
    // time taken does not depend on where a wrong token differs.
    bool allows(std::string_view authorization_header) const;

private:
    std::vector<std::string> tokens_;
};

}  // namespace coe::serve

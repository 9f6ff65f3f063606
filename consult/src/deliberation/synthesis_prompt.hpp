// synthesis_prompt.hpp - what the chairman is given: the question, every
// answer (anonymised as Answer 1, 2, ...), the consensus, the dissent and
// the peer review.  Pure; thread-safe.
#pragma once

#include <string>

#include "coe/consult.hpp"

namespace coe::consult_detail {

const char *chairman_system_prompt();

// `review` may be null (no review was run).
std::string synthesis_prompt(const std::string &question, const Panel &panel, const Report &report,
                             const ReviewOutcome *review);

}  // namespace coe::consult_detail

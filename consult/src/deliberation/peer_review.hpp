// peer_review.hpp - the pure part of the peer review: anonymised, shuffled
// review prompts, the parser of a reviewer's ranking, and the aggregation
// of the rankings (Borda count and the Schulze method).  No I/O; every
// function is deterministic and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coe::consult_detail {

// What one reviewer is shown: answers[label k] = answer index shown as
// letter 'A' + k.  A reviewer who answered never sees its own answer.
struct ReviewSheet {
    std::vector<std::uint32_t> answers;  // answer indices, in label order
    std::string prompt;                  // the question and the labelled answers
};

// The sheet of one reviewer: every answer but `own` (none when own ==
// UINT32_MAX), in an order shuffled by `seed` (a different seed per
// reviewer cancels position bias).  At most 26 answers.
ReviewSheet make_review_sheet(const std::string &question, const std::vector<std::string> &answers, std::uint32_t own,
                              std::uint64_t seed);

// The system prompt of a reviewer.
const char *review_system_prompt();

// The ranking in a review: the last line "RANKING: C > A > B" (any case,
// markdown emphasis and "Answer C" allowed), which must name every label of
// the sheet exactly once.  The answer indices best first, or nullopt with
// `why` ("no RANKING line", "label D twice", "label B missing", ...).
std::optional<std::vector<std::uint32_t>> parse_ranking(std::string_view review, const ReviewSheet &sheet,
                                                        std::string &why);

// A parsed ranking: answer indices, best first; `reviewer_answer` is the
// reviewer's own answer index (UINT32_MAX when it gave none), never counted.
struct Ballot {
    std::vector<std::uint32_t> ranking;
    std::uint32_t reviewer_answer = UINT32_MAX;
};

struct RankedAnswer {
    double borda = 0;  // mean over the ballots that ranked it of (m-1-position)/(m-1), in [0, 1]
    std::uint32_t times_ranked = 0;
    std::uint32_t borda_rank = 0;    // 1 = best; ties: the earlier answer first
    std::uint32_t schulze_rank = 0;  // 1 = best; see schulze_ranks
    std::uint32_t schulze_wins = 0;  // answers it beats by strongest path
};

// Borda (normalised per ballot, so ballots of different lengths weigh the
// same) and Schulze over `n` answers.  Self-votes are dropped.
std::vector<RankedAnswer> aggregate_ballots(const std::vector<Ballot> &ballots, std::uint32_t n);

// Schulze: d[i][j] = ballots ranking i above j; p = strongest (widest)
// paths; i beats j when p[i][j] > p[j][i].  Answers are ordered by how many
// others they beat, ties by the earlier answer: deterministic even in a
// Condorcet cycle, where the answers of the cycle beat equally many.
// Returns the 1-based ranks and fills `wins`.
std::vector<std::uint32_t> schulze_ranks(const std::vector<std::vector<std::uint32_t>> &d,
                                         std::vector<std::uint32_t> &wins);

}  // namespace coe::consult_detail

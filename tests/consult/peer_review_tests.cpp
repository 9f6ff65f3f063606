// The peer review's pure parts: anonymised shuffled sheets, the ranking
// parser, Borda and Schulze against hand-computed examples.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <set>

#include "deliberation/peer_review.hpp"

using namespace coe::consult_detail;

namespace {

const std::vector<std::string> four = {"first answer", "second answer", "third answer", "fourth answer"};

// The review a reviewer with a fixed preference (lower answer index first) writes for a sheet.
std::string review_preferring_lower(const ReviewSheet &sheet) {
    std::vector<std::pair<std::uint32_t, char>> shown;
    for (std::size_t k = 0; k < sheet.answers.size(); ++k)
        shown.emplace_back(sheet.answers[k], static_cast<char>('A' + k));
    std::sort(shown.begin(), shown.end());
    std::string line = "RANKING:";
    for (std::size_t i = 0; i < shown.size(); ++i) line += std::string(i ? " > " : " ") + shown[i].second;
    return "Some reasoning.\n" + line;
}

Ballot ballot(std::vector<std::uint32_t> ranking, std::uint32_t own = UINT32_MAX) { return {std::move(ranking), own}; }

}  // namespace

TEST_CASE("a sheet hides the reviewer's own answer and shuffles the rest by seed") {
    const ReviewSheet s = make_review_sheet("Q?", four, 1, 7);
    CHECK(s.answers.size() == 3);
    CHECK(std::find(s.answers.begin(), s.answers.end(), 1u) == s.answers.end());
    CHECK(s.prompt.find("Answer A:\n") != std::string::npos);
    CHECK(s.prompt.find("Answer C:\n") != std::string::npos);
    CHECK(s.prompt.find("Answer D:") == std::string::npos);
    CHECK(s.prompt.find("second answer") == std::string::npos);
    std::set<std::vector<std::uint32_t>> orders;
    for (std::uint64_t seed = 0; seed < 20; ++seed)
        orders.insert(make_review_sheet("Q?", four, UINT32_MAX, seed).answers);
    CHECK(orders.size() > 5);  // positions differ between reviewers
    CHECK(make_review_sheet("Q?", four, 2, 99).answers == make_review_sheet("Q?", four, 2, 99).answers);
}

TEST_CASE("property: whatever labels and order a reviewer saw, its ranking maps back to the same answers") {
    for (std::uint64_t seed = 0; seed < 200; ++seed) {
        const std::uint32_t own = static_cast<std::uint32_t>(seed % 5);  // 4: a reviewer without an answer
        const ReviewSheet sheet = make_review_sheet("Q?", four, own, seed);
        std::string why;
        const auto ranking = parse_ranking(review_preferring_lower(sheet), sheet, why);
        REQUIRE_MESSAGE(ranking, why);
        std::vector<std::uint32_t> expected;
        for (std::uint32_t i = 0; i < 4; ++i)
            if (i != own) expected.push_back(i);
        CHECK(*ranking == expected);
    }
}

TEST_CASE("the ranking parser: forgiving of form, strict about content") {
    ReviewSheet sheet;
    sheet.answers = {2, 0, 1};  // A -> answer 2, B -> 0, C -> 1
    std::string why;
    CHECK(*parse_ranking("RANKING: C > A > B", sheet, why) == std::vector<std::uint32_t>{1, 2, 0});
    CHECK(*parse_ranking("blah\n**Ranking:** Answer c > answer A > [B].\n", sheet, why) ==
          std::vector<std::uint32_t>{1, 2, 0});
    CHECK(*parse_ranking("RANKING: A > B > C\nOn reflection:\nRANKING: B > C > A", sheet, why) ==
          std::vector<std::uint32_t>{0, 1, 2});  // the last one counts
    CHECK_FALSE(parse_ranking("I liked B best.", sheet, why));
    CHECK(why == "no RANKING line");
    CHECK_FALSE(parse_ranking("RANKING: A > A > B", sheet, why));
    CHECK(why == "label A twice");
    CHECK_FALSE(parse_ranking("RANKING: A > C", sheet, why));
    CHECK(why == "label B missing");
    CHECK_FALSE(parse_ranking("RANKING: A > B > C > D", sheet, why));
    CHECK(why == "'D' is not one of the labels");
    CHECK_FALSE(parse_ranking("RANKING: A, B, C", sheet, why));
    CHECK_FALSE(parse_ranking("RANKING:", sheet, why));
}

TEST_CASE("Borda: normalised per ballot, hand-computed") {
    // 3 answers; ballots 0>1>2, 0>2>1, 1>0 (a reviewer who saw two)
    const auto r = aggregate_ballots({ballot({0, 1, 2}), ballot({0, 2, 1}), ballot({1, 0})}, 3);
    CHECK(r[0].borda == doctest::Approx((1 + 1 + 0) / 3.0));
    CHECK(r[1].borda == doctest::Approx((0.5 + 0 + 1) / 3.0));
    CHECK(r[2].borda == doctest::Approx((0 + 0.5) / 2.0));
    CHECK(r[0].times_ranked == 3);
    CHECK(r[2].times_ranked == 2);
    CHECK(r[0].borda_rank == 1);
    CHECK(r[1].borda_rank == 2);
    CHECK(r[2].borda_rank == 3);
}

TEST_CASE("self-votes are dropped, and ties go to the earlier answer") {
    // the author of answer 0 ranks itself first: only 1 > 2 counts from that ballot
    const auto r = aggregate_ballots({ballot({0, 1, 2}, 0), ballot({2, 1}, 0)}, 3);
    CHECK(r[0].times_ranked == 0);
    CHECK(r[1].borda == doctest::Approx(0.5));  // 1 (first of two) and 0 (second of two)
    CHECK(r[2].borda == doctest::Approx(0.5));
    CHECK(r[1].borda_rank < r[2].borda_rank);  // tied: the earlier answer first
}

TEST_CASE("Schulze: the classic 45-voter example gives E > A > C > B > D") {
    // A=0 ... E=4; d[i][j] from the ballots (counts of voters)
    const std::vector<std::pair<int, std::vector<std::uint32_t>>> groups = {
        {5, {0, 2, 1, 4, 3}}, {5, {0, 3, 4, 2, 1}}, {8, {1, 4, 3, 0, 2}}, {3, {2, 0, 1, 4, 3}},
        {7, {2, 0, 4, 1, 3}}, {2, {2, 1, 0, 3, 4}}, {7, {3, 2, 4, 1, 0}}, {8, {4, 1, 0, 3, 2}}};
    std::vector<Ballot> ballots;
    for (const auto &[count, order] : groups)
        for (int i = 0; i < count; ++i) ballots.push_back(ballot(order));
    const auto r = aggregate_ballots(ballots, 5);
    CHECK(r[4].schulze_rank == 1);  // E
    CHECK(r[0].schulze_rank == 2);  // A
    CHECK(r[2].schulze_rank == 3);  // C
    CHECK(r[1].schulze_rank == 4);  // B
    CHECK(r[3].schulze_rank == 5);  // D
    CHECK(r[4].schulze_wins == 4);
}

TEST_CASE("Schulze in a Condorcet cycle: nobody beats anybody, the order is the answers' order") {
    const auto r = aggregate_ballots({ballot({0, 1, 2}), ballot({1, 2, 0}), ballot({2, 0, 1})}, 3);
    for (std::uint32_t i = 0; i < 3; ++i) {
        CHECK(r[i].schulze_wins == 0);
        CHECK(r[i].schulze_rank == i + 1);
        CHECK(r[i].borda == doctest::Approx(0.5));
    }
}

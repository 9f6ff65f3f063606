#include "peer_review.hpp"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <random>

#include "coe/internal/strings.hpp"

namespace coe::consult_detail {

const char *review_system_prompt() {
    return "You review anonymous answers to a question, written by other experts. Judge them on correctness "
           "first, then on usefulness. Explain briefly, then end your reply with one final line of the form "
           "RANKING: <label> > <label> > ... that lists every label exactly once, best answer first.";
}

ReviewSheet make_review_sheet(const std::string &question, const std::vector<std::string> &answers, std::uint32_t own,
                              std::uint64_t seed) {
    ReviewSheet sheet;
    for (std::uint32_t i = 0; i < answers.size() && sheet.answers.size() < 26; ++i)
        if (i != own) sheet.answers.push_back(i);
    std::mt19937_64 rng(seed);
    for (std::size_t i = sheet.answers.size(); i > 1; --i)  // Fisher-Yates: the same on every platform
        std::swap(sheet.answers[i - 1], sheet.answers[static_cast<std::size_t>(rng() % i)]);
    std::string p = "Question:\n" + question + "\n\n";
    std::string labels;
    for (std::size_t k = 0; k < sheet.answers.size(); ++k) {
        const char label = static_cast<char>('A' + k);
        p += "Answer " + std::string(1, label) + ":\n" + answers[sheet.answers[k]] + "\n\n";
        labels += std::string(labels.empty() ? "" : ", ") + label;
    }
    p += "Rank the answers " + labels +
         ". End with the line RANKING: followed by every label once, best first, "
         "separated by '>'.";
    sheet.prompt = std::move(p);
    return sheet;
}

namespace {

// Without the blanks and markdown emphasis around it (and a final period).
std::string trim(std::string_view s) { return std::string(internal::trim(s, " \t\n\v\f\r*_`", " \t\n\v\f\r*_`.")); }

std::string upper(std::string s) {
    for (char &c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

std::optional<std::vector<std::uint32_t>> parse_ranking(std::string_view review, const ReviewSheet &sheet,
                                                        std::string &why) {
    // the last line that starts (after emphasis) with RANKING:
    std::string line;
    for (std::size_t start = 0; start <= review.size();) {
        std::size_t end = review.find('\n', start);
        if (end == std::string_view::npos) end = review.size();
        const std::string t = upper(trim(review.substr(start, end - start)));
        if (t.rfind("RANKING", 0) == 0 && t.find(':') != std::string::npos) line = t.substr(t.find(':') + 1);
        start = end + 1;
    }
    if (line.empty()) {
        why = "no RANKING line";
        return std::nullopt;
    }
    std::vector<std::uint32_t> ranking;
    std::vector<bool> seen(sheet.answers.size(), false);
    for (std::size_t start = 0; start <= line.size();) {
        std::size_t end = line.find('>', start);
        if (end == std::string::npos) end = line.size();
        std::string token = trim(std::string_view(line).substr(start, end - start));
        if (token.rfind("ANSWER", 0) == 0) token = trim(std::string_view(token).substr(6));
        if (token.size() >= 2 && token.front() == '[' && token.back() == ']') token = token.substr(1, token.size() - 2);
        if (token.size() != 1 || token[0] < 'A' || token[0] >= 'A' + static_cast<char>(sheet.answers.size())) {
            why = "'" + token + "' is not one of the labels";
            return std::nullopt;
        }
        const std::size_t k = static_cast<std::size_t>(token[0] - 'A');
        if (seen[k]) {
            why = "label " + token + " twice";
            return std::nullopt;
        }
        seen[k] = true;
        ranking.push_back(sheet.answers[k]);
        start = end + 1;
    }
    for (std::size_t k = 0; k < seen.size(); ++k)
        if (!seen[k]) {
            why = "label " + std::string(1, static_cast<char>('A' + k)) + " missing";
            return std::nullopt;
        }
    return ranking;
}

std::vector<std::uint32_t> schulze_ranks(const std::vector<std::vector<std::uint32_t>> &d,
                                         std::vector<std::uint32_t> &wins) {
    const std::size_t n = d.size();
    std::vector<std::vector<std::uint32_t>> p(n, std::vector<std::uint32_t>(n, 0));
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j)
            if (i != j && d[i][j] > d[j][i]) p[i][j] = d[i][j];
    for (std::size_t k = 0; k < n; ++k)
        for (std::size_t i = 0; i < n; ++i)
            if (i != k)
                for (std::size_t j = 0; j < n; ++j)
                    if (j != i && j != k) p[i][j] = std::max(p[i][j], std::min(p[i][k], p[k][j]));
    wins.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j)
            if (i != j && p[i][j] > p[j][i]) ++wins[i];
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return wins[a] > wins[b]; });
    std::vector<std::uint32_t> rank(n);
    for (std::size_t r = 0; r < n; ++r) rank[order[r]] = static_cast<std::uint32_t>(r + 1);
    return rank;
}

std::vector<RankedAnswer> aggregate_ballots(const std::vector<Ballot> &ballots, std::uint32_t n) {
    std::vector<RankedAnswer> out(n);
    std::vector<std::vector<std::uint32_t>> d(n, std::vector<std::uint32_t>(n, 0));
    for (const Ballot &b : ballots) {
        std::vector<std::uint32_t> r;
        for (std::uint32_t a : b.ranking)
            if (a < n && a != b.reviewer_answer) r.push_back(a);  // no self-votes
        const std::size_t m = r.size();
        for (std::size_t pos = 0; pos < m; ++pos) {
            out[r[pos]].borda += m > 1 ? static_cast<double>(m - 1 - pos) / static_cast<double>(m - 1) : 1.0;
            ++out[r[pos]].times_ranked;
            for (std::size_t later = pos + 1; later < m; ++later) ++d[r[pos]][r[later]];
        }
    }
    for (auto &a : out)
        if (a.times_ranked) a.borda /= a.times_ranked;
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return out[a].borda > out[b].borda; });
    for (std::size_t r = 0; r < n; ++r) out[order[r]].borda_rank = static_cast<std::uint32_t>(r + 1);
    std::vector<std::uint32_t> wins;
    const std::vector<std::uint32_t> ranks = schulze_ranks(d, wins);
    for (std::uint32_t i = 0; i < n; ++i) {
        out[i].schulze_rank = ranks[i];
        out[i].schulze_wins = wins[i];
    }
    return out;
}

}  // namespace coe::consult_detail

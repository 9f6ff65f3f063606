// truthfulqa_panels.hpp - labelled panels from TruthfulQA: for every
// question with at least 3 correct and 2 incorrect reference answers, a
// panel of 3 correct + 2 incorrect answers, drawn and shuffled with a fixed
// seed.  Shared by the accuracy programs of bench/.
#pragma once

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "coe/error.hpp"
#include "coe/panel.hpp"

namespace coe::bench {

inline std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw coe::Error(path + ": cannot open file");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// RFC 4180 CSV: quoted fields may hold commas, newlines and doubled quotes.
inline std::vector<std::vector<std::string>> parse_csv(const std::string &text) {
    std::vector<std::vector<std::string>> rows(1);
    std::string field;
    bool quoted = false, row_has_data = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            quoted = row_has_data = true;
        } else if (c == ',') {
            rows.back().push_back(std::move(field));
            field.clear();
            row_has_data = true;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            if (row_has_data || !field.empty()) {
                rows.back().push_back(std::move(field));
                field.clear();
                rows.emplace_back();
            }
            row_has_data = false;
        } else {
            field += c;
            row_has_data = true;
        }
    }
    if (row_has_data || !field.empty()) rows.back().push_back(std::move(field));
    if (rows.back().empty()) rows.pop_back();
    return rows;
}

inline std::vector<std::string> split_answers(const std::string &s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        std::size_t end = s.find(';', start);
        if (end == std::string::npos) end = s.size();
        std::string a = s.substr(start, end - start);
        a.erase(0, a.find_first_not_of(' '));
        a.erase(a.find_last_not_of(' ') + 1);
        if (!a.empty()) out.push_back(a);
        start = end + 1;
    }
    return out;
}

struct TruthfulPanel {
    coe::Panel panel;
    std::vector<bool> correct;
};

inline std::vector<TruthfulPanel> truthfulqa_panels(const std::string &file, unsigned seed) {
    auto rows = parse_csv(read_file(file));
    if (rows.empty()) throw coe::Error(file + ": empty");
    const auto &header = rows[0];
    auto column = [&](const std::string &name) {
        auto it = std::find(header.begin(), header.end(), name);
        if (it == header.end()) throw coe::Error(file + ": no column '" + name + "'");
        return static_cast<std::size_t>(it - header.begin());
    };
    const std::size_t q = column("Question"), ok = column("Correct Answers"), bad = column("Incorrect Answers");
    std::mt19937 rng(seed);
    std::vector<TruthfulPanel> panels;
    for (std::size_t r = 1; r < rows.size(); ++r) {
        if (rows[r].size() != header.size())
            throw coe::Error(file + ": record " + std::to_string(r + 1) + " has " + std::to_string(rows[r].size()) +
                             " fields, the header has " + std::to_string(header.size()));
        auto correct = split_answers(rows[r][ok]), incorrect = split_answers(rows[r][bad]);
        if (correct.size() < 3 || incorrect.size() < 2) continue;
        std::shuffle(correct.begin(), correct.end(), rng);
        std::shuffle(incorrect.begin(), incorrect.end(), rng);
        std::vector<std::pair<std::string, bool>> answers;
        for (int i = 0; i < 3; ++i) answers.emplace_back(correct[i], true);
        for (int i = 0; i < 2; ++i) answers.emplace_back(incorrect[i], false);
        std::shuffle(answers.begin(), answers.end(), rng);
        TruthfulPanel tp;
        tp.panel.id = "truthfulqa-" + std::to_string(r);
        tp.panel.question = rows[r][q];
        for (std::size_t i = 0; i < answers.size(); ++i) {
            tp.panel.responses.push_back(
                {"expert-" + std::to_string(i), answers[i].first, std::nullopt, std::nullopt, std::nullopt, {}});
            tp.correct.push_back(answers[i].second);
        }
        panels.push_back(std::move(tp));
    }
    return panels;
}

}  // namespace coe::bench

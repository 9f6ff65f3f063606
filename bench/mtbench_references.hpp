// mtbench_references.hpp - the MT-Bench panels, and for those with a
// reference answer each response's TF-IDF cosine to it (the reference in the
// IDF): the yardstick of the accuracy programs of bench/.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "truthfulqa_panels.hpp"

namespace coe::bench {

struct MtBenchCorpus {
    std::vector<coe::Panel> all;                    // every panel, in file order
    std::vector<coe::Panel> with_reference;         // those with a reference answer
    std::vector<std::vector<double>> to_reference;  // per such panel, each response's cosine to it
};

inline MtBenchCorpus read_mtbench(const coe::Engine &engine, const std::string &file) {
    MtBenchCorpus c;
    std::istringstream lines(read_file(file));
    std::size_t line_no = 0;
    for (std::string line; std::getline(lines, line);) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const auto doc = boost::json::parse(line);
        c.all.push_back(coe::parse_panel(line, file + ":" + std::to_string(line_no)));
        const auto *ref = doc.as_object().if_contains("reference");
        if (ref == nullptr || !ref->is_string() || ref->as_string().empty()) continue;
        c.with_reference.push_back(c.all.back());
        std::vector<std::string_view> texts;
        for (const auto &r : c.with_reference.back().responses) texts.push_back(r.content);
        texts.push_back(ref->as_string());
        const coe::Matrix sim = engine.similarity(engine.featurize(texts));
        const auto n = static_cast<std::uint32_t>(texts.size() - 1);
        c.to_reference.emplace_back();
        for (std::uint32_t i = 0; i < n; ++i) c.to_reference.back().push_back(sim(i, n));
    }
    return c;
}

}  // namespace coe::bench

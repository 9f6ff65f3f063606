#include "synthesis_prompt.hpp"

#include "coe/report_format.hpp"

namespace coe::consult_detail {

const char *chairman_system_prompt() {
    return "You chair a circle of experts. Several experts answered the same question independently; you are "
           "given their answers, how far they agree, who dissents, and how the experts ranked each other's "
           "answers. Write the single best final answer to the question: keep what is correct and agreed, "
           "weigh dissent on its merits, drop what is wrong. Answer in markdown, without mentioning the "
           "experts or this process.";
}

std::string synthesis_prompt(const std::string &question, const Panel &panel, const Report &report,
                             const ReviewOutcome *review) {
    std::string p = "Question:\n" + question + "\n\n";
    auto label = [&](std::uint32_t index) { return "Answer " + std::to_string(index + 1); };
    auto index_of = [&](const std::string &expert) {
        for (std::uint32_t i = 0; i < panel.responses.size(); ++i)
            if (panel.responses[i].expert == expert) return i;
        return static_cast<std::uint32_t>(0);
    };
    for (std::uint32_t i = 0; i < panel.responses.size(); ++i)
        p += label(i) + ":\n" + panel.responses[i].content + "\n\n";
    p += "Consensus: " + std::string(to_string(report.consensus.level));
    if (!report.clusters.empty()) {
        const auto &majority =
            report.clusters[std::min<std::size_t>(report.consensus.majority_cluster, report.clusters.size() - 1)];
        p += "; the majority is";
        for (const auto &m : majority.members) p += " " + label(index_of(m));
    }
    p += ".\n";
    for (const auto &d : report.dissent) {
        p += "Dissent:";
        for (const auto &m : d.members) p += " " + label(index_of(m));
        p += "\n";
    }
    if (review && !review->answers.empty()) {
        std::vector<const ReviewOutcome::Score *> order;
        for (const auto &s : review->answers) order.push_back(&s);
        std::sort(order.begin(), order.end(), [](auto *a, auto *b) { return a->combined_rank < b->combined_rank; });
        p += "The experts' peer review ranks them, best first:";
        for (const auto *s : order) p += " " + label(index_of(s->expert));
        p += ".\n";
    }
    p += "\nWrite the final answer.";
    return p;
}

}  // namespace coe::consult_detail

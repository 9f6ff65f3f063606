#include <cmath>

#include <boost/json.hpp>

#include "coe/report_format.hpp"
#include "coe/json_text.hpp"

namespace coe {

const char *to_string(ConsensusLevel level) {
    switch (level) {
    case ConsensusLevel::unanimous: return "unanimous";
    case ConsensusLevel::strong: return "strong";
    case ConsensusLevel::majority: return "majority";
    case ConsensusLevel::split: return "split";
    case ConsensusLevel::none: return "none";
    }
    return "unknown";
}

namespace {

double round6(double x) { return std::round(x * 1e6) / 1e6; }

boost::json::array strings(const std::vector<std::string> &v, std::size_t limit = SIZE_MAX) {
    boost::json::array a;
    for (std::size_t i = 0; i < v.size() && i < limit; ++i) a.emplace_back(v[i]);
    return a;
}

// Lists repeated per item are capped, so that output stays proportional to
// the input: the count says how many were left out.
constexpr std::size_t max_listed = 16;

boost::json::array items(const std::vector<ItemResult> &list) {
    boost::json::array a;
    for (const auto &r : list) {
        boost::json::object o{{"text", r.text},
                              {"support", r.support},
                              {"supporters", strings(r.supporters, max_listed)},
                              {"score", round6(r.score)},
                              {"confidence", round6(r.confidence)},
                              {"consensus", r.consensus}};
        if (r.supporters.size() > max_listed) o["supporters_omitted"] = r.supporters.size() - max_listed;
        if (r.variants.size() > 1) o["variants"] = strings(r.variants, max_listed);
        if (r.variants.size() > max_listed) o["variants_omitted"] = r.variants.size() - max_listed;
        a.push_back(std::move(o));
    }
    return a;
}

}  // namespace

std::string to_json(const Report &r) {
    boost::json::object served;
    for (const auto &[op, backend] : r.served_by) served[op] = backend;
    boost::json::array clusters;
    for (std::size_t k = 0; k < r.clusters.size(); ++k) {
        const auto &c = r.clusters[k];
        clusters.push_back(boost::json::object{{"id", k},
                                               {"members", strings(c.members)},
                                               {"representative", c.representative},
                                               {"share", round6(c.share)},
                                               {"cohesion", round6(c.cohesion)}});
    }
    boost::json::array experts;
    for (const auto &e : r.experts)
        experts.push_back(boost::json::object{{"expert", e.expert},
                                              {"centrality", round6(e.centrality)},
                                              {"robust_z", round6(e.robust_z)},
                                              {"cluster", e.cluster},
                                              {"outlier", e.outlier},
                                              {"weight", round6(e.weight)}});
    boost::json::array dissent;
    for (const auto &d : r.dissent)
        dissent.push_back(boost::json::object{{"cluster", d.cluster},
                                              {"members", strings(d.members)},
                                              {"representative", d.representative},
                                              {"excerpt", d.excerpt}});
    const auto &c = r.consensus;
    boost::json::array events;
    for (const auto &e : r.events) events.emplace_back(e);
    boost::json::object root{
        {"id", r.panel_id},
        {"question", r.question},
        {"backend", r.backend},
        {"served_by", std::move(served)},
        {"degraded", r.degraded},
        {"features", r.features},
        {"consensus",
         boost::json::object{{"score", round6(c.score)},
                             {"level", to_string(c.level)},
                             {"majority_cluster", c.majority_cluster},
                             {"majority_share", round6(c.majority_share)},
                             {"margin", round6(c.margin)},
                             {"entropy", round6(c.entropy)},
                             {"medoid", c.medoid}}},
        {"confidence", round6(r.confidence)},
        {"quorum", r.quorum},
        {"clusters", std::move(clusters)},
        {"experts", std::move(experts)},
        {"dissent", std::move(dissent)},
        {"recommendations", items(r.recommendations)},
        {"limitations", items(r.limitations)},
        {"events", std::move(events)},
        {"timing_ms", boost::json::object{{"featurize", round6(r.timing.featurize)},
                                          {"similarity", round6(r.timing.similarity)},
                                          {"cluster", round6(r.timing.cluster)},
                                          {"consensus", round6(r.timing.consensus)},
                                          {"aggregate", round6(r.timing.aggregate)},
                                          {"total", round6(r.timing.total)}}},
    };
    return coe::json_text(root);
}

std::string error_json(std::size_t line, const std::string &message) {
    boost::json::object o;
    if (line > 0) o["line"] = line;
    o["error"] = message;
    return coe::json_text(o);
}

}  // namespace coe

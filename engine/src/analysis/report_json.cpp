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

// Lists repeated per item are capped, so that output stays proportional to
// the input: the count says how many were left out.
constexpr std::size_t max_listed = 16;

void items(JsonWriter &w, const std::vector<ItemResult> &list) {
    // one key and its value per line, in the order of the document
    // clang-format off
    w.begin_array();
    for (const auto &r : list) {
        w.begin_object()
            .key("text").value(r.text)
            .key("support").value(r.support)
            .key("supporters").strings(r.supporters, max_listed)
            .key("score").value(round6(r.score))
            .key("confidence").value(round6(r.confidence))
            .key("consensus").value(r.consensus);
        if (r.supporters.size() > max_listed) w.key("supporters_omitted").value(std::uint64_t{r.supporters.size() - max_listed});
        if (r.variants.size() > 1) w.key("variants").strings(r.variants, max_listed);
        if (r.variants.size() > max_listed) w.key("variants_omitted").value(std::uint64_t{r.variants.size() - max_listed});
        w.end_object();
    }
    w.end_array();
    // clang-format on
}

}  // namespace

// Written straight into text (no document is built): serialising a report
// is on the path of every panel.  The text is gathered in a buffer kept per
// thread, so the returned string is allocated once, at its size.
std::string to_json(const Report &r) {
    thread_local std::string out;
    out.clear();
    // one key and its value per line, in the order of the document
    // clang-format off
    JsonWriter w(out);
    w.begin_object()
        .key("id").value(r.panel_id)
        .key("question").value(r.question)
        .key("backend").value(r.backend)
        .key("served_by").begin_object();
    for (const auto &[op, backend] : r.served_by) w.key(op).value(backend);
    w.end_object()
        .key("degraded").value(r.degraded)
        .key("features").value(r.features);
    if (!r.features_note.empty()) w.key("features_note").value(r.features_note);
    const auto &c = r.consensus;
    w.key("consensus").begin_object()
        .key("score").value(round6(c.score))
        .key("level").value(to_string(c.level))
        .key("majority_cluster").value(c.majority_cluster)
        .key("majority_share").value(round6(c.majority_share))
        .key("margin").value(round6(c.margin))
        .key("entropy").value(round6(c.entropy))
        .key("medoid").value(c.medoid)
        .end_object();
    w.key("confidence").value(round6(r.confidence)).key("quorum").value(r.quorum);
    w.key("clusters").begin_array();
    for (std::size_t k = 0; k < r.clusters.size(); ++k) {
        const auto &cl = r.clusters[k];
        w.begin_object()
            .key("id").value(std::uint64_t{k})
            .key("members").strings(cl.members)
            .key("representative").value(cl.representative)
            .key("share").value(round6(cl.share))
            .key("cohesion").value(round6(cl.cohesion))
            .end_object();
    }
    w.end_array().key("experts").begin_array();
    for (const auto &e : r.experts)
        w.begin_object()
            .key("expert").value(e.expert)
            .key("centrality").value(round6(e.centrality))
            .key("robust_z").value(round6(e.robust_z))
            .key("cluster").value(e.cluster)
            .key("outlier").value(e.outlier)
            .key("weight").value(round6(e.weight))
            .end_object();
    w.end_array().key("dissent").begin_array();
    for (const auto &d : r.dissent)
        w.begin_object()
            .key("cluster").value(d.cluster)
            .key("members").strings(d.members)
            .key("representative").value(d.representative)
            .key("excerpt").value(d.excerpt)
            .end_object();
    w.end_array();
    w.key("recommendations");
    items(w, r.recommendations);
    w.key("limitations");
    items(w, r.limitations);
    w.key("events").strings(r.events);
    w.key("timing_ms").begin_object()
        .key("featurize").value(round6(r.timing.featurize))
        .key("similarity").value(round6(r.timing.similarity))
        .key("cluster").value(round6(r.timing.cluster))
        .key("consensus").value(round6(r.timing.consensus))
        .key("aggregate").value(round6(r.timing.aggregate))
        .key("total").value(round6(r.timing.total))
        .end_object();
    w.end_object();
    return std::string(out);  // a copy, at its size; the buffer stays
    // clang-format on
}

std::string error_json(std::size_t line, const std::string &message) {
    boost::json::object o;
    if (line > 0) o["line"] = line;
    o["error"] = message;
    return coe::json_text(o);
}

}  // namespace coe

#include "consensus_pipeline.hpp"

#include <algorithm>
#include <chrono>

#include "analysis/markdown_items.hpp"
#include "analysis/panel_messages.hpp"
#include "resilience/backend_chain.hpp"
#include "coe/error.hpp"

namespace coe::detail {
namespace {

void check_limits(const PanelView &panel, const AnalysisOptions &o) {
    const std::size_t n = panel.responses.size();
    if (n > o.max_experts)
        throw Error("responses: " + std::to_string(n) + " experts exceed the limit of " + std::to_string(o.max_experts) +
                    " per panel (AnalysisOptions::max_experts, coe analyze --max-experts)");
    auto text = [&](std::string_view t, std::size_t limit, std::size_t i, const std::string &field) {
        if (t.size() > limit)
            throw Error(detail::response_path(i, field.c_str()) + ": " + std::to_string(t.size()) +
                        " bytes exceed the limit of " + std::to_string(limit) +
                        " (AnalysisOptions::max_text_bytes / max_name_bytes)");
    };
    for (std::size_t i = 0; i < n; ++i) {
        const ResponseView &r = panel.responses[i];
        text(r.expert, o.max_name_bytes, i, "expert");
        text(r.content, o.max_text_bytes, i, "content");
        for (const auto *list : {&r.recommendations, &r.limitations})
            if (*list)
                for (std::string_view item : **list)
                    text(item, o.max_text_bytes, i, list == &r.recommendations ? "recommendations" : "limitations");
    }
}

}  // namespace

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point start) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

// The start of `text` on one line: whitespace runs become one space, cut at
// a UTF-8 boundary to at most `bytes` bytes, with an ellipsis when cut.
std::string excerpt(std::string_view text, std::size_t bytes) {
    std::string out;
    bool space = false;
    for (char ch : text) {
        const bool is_space = ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r';
        if (is_space) {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += ch;
        if (out.size() > bytes) break;
    }
    if (out.size() <= bytes) return out;
    std::size_t cut = bytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    return out + "...";
}

struct Item {
    std::string text;
    std::uint32_t expert;
};

// Each response's explicit list, or what its markdown yields.
void collect_items(const PanelView &panel, std::vector<Item> &recommendations, std::vector<Item> &limitations) {
    for (std::uint32_t e = 0; e < panel.responses.size(); ++e) {
        const ResponseView &r = panel.responses[e];
        MarkdownItems extracted;
        if (!r.recommendations || !r.limitations) extracted = extract_markdown_items(r.content);
        if (r.recommendations)
            for (auto t : *r.recommendations) recommendations.push_back({std::string(t), e});
        else
            for (auto &t : extracted.recommendations) recommendations.push_back({std::move(t), e});
        if (r.limitations)
            for (auto t : *r.limitations) limitations.push_back({std::string(t), e});
        else
            for (auto &t : extracted.limitations) limitations.push_back({std::move(t), e});
    }
}

std::vector<ItemResult> aggregate_items(const BackendOps &ops, const PanelView &panel, const std::vector<Item> &items,
                                        const std::vector<float> &weights, std::uint32_t quorum,
                                        const AnalysisOptions &opt, CallTrace &trace) {
    if (items.empty()) return {};
    std::vector<std::string_view> texts;
    std::vector<std::uint32_t> owner;
    for (const auto &it : items) {
        if (texts.size() == opt.max_items) break;
        texts.push_back(it.text);
        owner.push_back(it.expert);
    }
    const Matrix sim = ops.similarity(ops.featurize(texts, opt.features, &trace), &trace);
    const Clustering groups = ops.cluster(sim, opt.item_merge_threshold, &trace);
    const AggregateOutputs agg = ops.aggregate(sim, groups, owner, weights, quorum, opt.prior_weight, &trace);

    std::vector<ItemResult> out;
    for (std::uint32_t g : agg.ranking) {
        ItemResult r;
        r.text = items[agg.representative[g]].text;
        r.support = agg.supporters[g];
        r.score = agg.support[g];
        r.confidence = agg.confidence[g];
        r.consensus = agg.consensus[g] != 0;
        std::vector<bool> named(panel.responses.size(), false);
        for (std::uint32_t i = 0; i < texts.size(); ++i) {
            if (groups.labels[i] != g) continue;
            named[items[i].expert] = true;
            if (std::find(r.variants.begin(), r.variants.end(), items[i].text) == r.variants.end())
                r.variants.push_back(items[i].text);
        }
        for (std::uint32_t e = 0; e < named.size(); ++e)
            if (named[e]) r.supporters.emplace_back(panel.responses[e].expert);
        out.push_back(std::move(r));
    }
    return out;
}

Matrix expert_similarity(const BackendOps &ops, const PanelView &panel, const AnalysisOptions &opt, Report &report,
                         CallTrace &trace) {
    const auto n = static_cast<std::uint32_t>(panel.responses.size());
    const bool embeddings = opt.use_embeddings && panel.responses[0].embedding_size > 0;
    if (embeddings) {
        const std::size_t d = panel.responses[0].embedding_size;
        std::vector<float> dense(static_cast<std::size_t>(n) * d);
        for (std::uint32_t i = 0; i < n; ++i)
            std::copy_n(panel.responses[i].embedding, d, dense.begin() + static_cast<std::ptrdiff_t>(i * d));
        report.features = "embedding";
        auto t = clock_type::now();
        Matrix m = ops.similarity(dense.data(), n, d, &trace);
        report.timing.similarity = ms_since(t);
        return m;
    }
    std::vector<std::string_view> texts;
    for (const auto &r : panel.responses) texts.push_back(r.content);
    report.features = "tfidf";
    auto t = clock_type::now();
    SparseRows rows = ops.featurize(texts, opt.features, &trace);
    report.timing.featurize = ms_since(t);
    t = clock_type::now();
    Matrix m = ops.similarity(rows, &trace);
    report.timing.similarity = ms_since(t);
    return m;
}

}  // namespace

ConsensusLevel classify_consensus(std::uint32_t experts, std::uint32_t clusters, std::uint32_t largest_cluster,
                                  std::uint32_t majority_members, double majority_share, double strong_share) {
    if (experts < 2 || largest_cluster < 2) return ConsensusLevel::none;
    if (clusters == 1) return ConsensusLevel::unanimous;
    // a lone expert is no consensus, however much weight it carries
    if (majority_members < 2) return ConsensusLevel::split;
    if (majority_share >= strong_share) return ConsensusLevel::strong;
    if (majority_share > 0.5) return ConsensusLevel::majority;
    return ConsensusLevel::split;
}

Report analyze_panel(const BackendOps &ops, const PanelView &panel, const AnalysisOptions &opt, CallTrace &trace) {
    check_limits(panel, opt);
    validate(panel);
    const auto start = clock_type::now();
    const auto n = static_cast<std::uint32_t>(panel.responses.size());
    Report report;
    report.panel_id = std::string(panel.id);
    report.question = std::string(panel.question);

    std::vector<float> weights(n);
    for (std::uint32_t i = 0; i < n; ++i)
        weights[i] = static_cast<float>(std::max(opt.min_weight, panel.responses[i].confidence.value_or(1.0)));

    const Matrix sim = expert_similarity(ops, panel, opt, report, trace);
    auto t = clock_type::now();
    const Clustering clusters = ops.cluster(sim, opt.cluster_threshold, &trace);
    report.timing.cluster = ms_since(t);
    t = clock_type::now();
    const ConsensusOutputs c = ops.consensus(sim, weights, clusters, opt.outlier_z, opt.prior_weight, &trace);
    report.timing.consensus = ms_since(t);

    // experts and clusters
    report.clusters.resize(clusters.cluster_count);
    for (std::uint32_t i = 0; i < n; ++i) {
        ExpertResult e;
        e.expert = std::string(panel.responses[i].expert);
        e.index = i;
        e.weight = weights[i];
        e.centrality = c.centrality[i];
        e.robust_z = c.robust_z[i];
        e.cluster = clusters.labels[i];
        e.outlier = c.outlier[i] != 0;
        ClusterResult &cl = report.clusters[e.cluster];
        cl.members.push_back(e.expert);
        cl.member_indices.push_back(i);
        report.experts.push_back(std::move(e));
    }
    std::uint32_t largest = 0;
    for (std::uint32_t k = 0; k < clusters.cluster_count; ++k) {
        ClusterResult &cl = report.clusters[k];
        cl.representative_index = c.cluster_representative[k];
        cl.representative = std::string(panel.responses[cl.representative_index].expert);
        cl.share = c.cluster_share[k];
        cl.cohesion = c.cluster_cohesion[k];
        largest = std::max(largest, static_cast<std::uint32_t>(cl.members.size()));
        if (k != c.majority_cluster) {
            DissentResult d;
            d.cluster = k;
            d.members = cl.members;
            d.representative = cl.representative;
            d.excerpt = excerpt(panel.responses[cl.representative_index].content, opt.excerpt_bytes);
            report.dissent.push_back(std::move(d));
        }
    }

    ConsensusResult &cr = report.consensus;
    cr.score = c.mean_agreement;
    cr.majority_cluster = c.majority_cluster;
    cr.majority_share = c.cluster_share[c.majority_cluster];
    cr.margin = c.margin;
    cr.entropy = c.entropy;
    cr.medoid_index = c.medoid;
    cr.medoid = std::string(panel.responses[c.medoid].expert);
    cr.level = classify_consensus(n, clusters.cluster_count, largest,
                                  static_cast<std::uint32_t>(report.clusters[c.majority_cluster].members.size()),
                                  cr.majority_share, opt.strong_share);
    report.confidence = c.confidence;

    // recommendations and limitations
    t = clock_type::now();
    report.quorum = opt.quorum > 0 ? opt.quorum : n / 2 + 1;
    std::vector<Item> recommendations, limitations;
    collect_items(panel, recommendations, limitations);
    for (auto [list, name] : {std::pair{&recommendations, "recommendations"}, std::pair{&limitations, "limitations"}})
        if (list->size() > opt.max_items)
            trace.events.push_back(std::string(name) + ": " + std::to_string(list->size()) + " items, only the first " +
                                   std::to_string(opt.max_items) + " were aggregated");
    report.recommendations = aggregate_items(ops, panel, recommendations, weights, report.quorum, opt, trace);
    report.limitations = aggregate_items(ops, panel, limitations, weights, report.quorum, opt, trace);
    report.timing.aggregate = ms_since(t);
    report.timing.total = ms_since(start);
    report.served_by = trace.served_by;
    report.degraded = trace.degraded;
    report.events = trace.events;
    return report;
}

}  // namespace coe::detail

#include "consensus_pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <chrono>

#include "analysis/markdown_items.hpp"
#include "analysis/panel_messages.hpp"
#include "analysis/reuse.hpp"
#include "resilience/backend_chain.hpp"
#include "coe/error.hpp"
#include "coe/internal/clock.hpp"

namespace coe::detail {
namespace {

void check_limits(const PanelView &panel, const AnalysisOptions &o) {
    const std::size_t n = panel.responses.size();
    if (n > o.max_experts)
        throw Error("responses: " + std::to_string(n) + " experts exceed the limit of " +
                    std::to_string(o.max_experts) +
                    " per panel (AnalysisOptions::max_experts, coe analyze --max-experts)");
    auto text = [&](std::string_view t, std::size_t limit, std::size_t i, const char *field) {
        if (t.size() > limit)
            throw Error(detail::response_path(i, field) + ": " + std::to_string(t.size()) +
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

using internal::Clock;
using internal::ms_since;

// The start of `text` on one line into `out`: whitespace runs become one
// space, cut at a UTF-8 boundary to at most `bytes` bytes, with an ellipsis
// when cut.
void excerpt(std::string_view text, std::size_t bytes, Fill fill, std::string &out) {
    out.clear();
    if (fill == Fill::reused) out.reserve(bytes + 4);  // the longest it gets (once per string)
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
    if (out.size() <= bytes) return;
    std::size_t cut = bytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
}

// Every intermediate result of one panel, kept per thread from panel to
// panel: in steady state the pipeline allocates nothing (a thread keeps the
// buffers of the largest panel it has analysed).
struct Workspace {
    Fill fill = Fill::reused;  // how the report at hand is filled
    std::vector<float> weights, dense;
    WordEmbeddings embedded;  // word vectors of the texts at hand
    Matrix lexical;           // TF-IDF similarity, when blended
    std::vector<std::string_view> texts;
    SparseRows rows;
    Matrix similarity;
    Clustering clusters;
    ConsensusOutputs consensus;
    MarkdownItemScanner markdown;
    ItemTexts items;
    // one list of items (recommendations or limitations) at a time
    std::vector<std::uint32_t> owner;
    std::vector<std::uint32_t> group_first, next_in_group;  // each group's items as a linked list
    std::vector<std::uint32_t> named;                       // per expert: the last group that named it, plus 1
    std::vector<std::uint32_t> distinct, supporters;        // one group's distinct wordings and its experts
    SparseRows item_rows;
    Matrix item_similarity;
    Clustering groups;
    AggregateOutputs aggregate;
};

Workspace &workspace() {
    thread_local Workspace w;
    return w;
}

void append_item(ItemTexts &items, std::vector<ItemSpan> &list, std::string_view text, std::uint32_t owner) {
    list.push_back({items.text.size(), text.size(), owner});
    items.text.append(text);
}

// What compares this panel's texts, resolved from the options and sources.
struct Comparison {
    FeatureKind kind = FeatureKind::tfidf;
    const WordVectorsForCall *word_vectors = nullptr;  // when asked for: the table, or why there is none
    float cluster_threshold = 0, item_merge_threshold = 0;
    bool fell_back = false;  // automatic chose TF-IDF for want of word vectors (word_vectors->problem)
};

bool every_response_embedded(const PanelView &panel) {
    return std::all_of(panel.responses.begin(), panel.responses.end(),
                       [](const ResponseView &r) { return r.embedding_size > 0; });
}

Comparison resolve_features(const PanelView &panel, const AnalysisOptions &opt, const FeatureSources &sources) {
    Comparison c;
    c.kind = opt.feature_kind.value_or(sources.default_kind);
    c.cluster_threshold = opt.cluster_threshold;
    c.item_merge_threshold = opt.item_merge_threshold;
    static const WordVectorsForCall none{std::nullopt, nullptr, "this engine has no word vectors", false};
    const auto try_word_vectors = [&] {
        c.word_vectors = sources.word_vectors != nullptr ? &sources.word_vectors->table(opt.word_vectors) : &none;
        return c.word_vectors->table.has_value();
    };
    if (c.kind == FeatureKind::embedding) {
        for (std::size_t i = 0; i < panel.responses.size(); ++i)
            if (panel.responses[i].embedding_size == 0)
                throw Error(response_path(i, "embedding") +
                            ": missing (features \"embedding\" needs one per response)");
    } else if (c.kind == FeatureKind::word_vectors) {
        if (!try_word_vectors()) throw Error("features \"word_vectors\": " + c.word_vectors->problem);
    } else if (c.kind == FeatureKind::automatic) {
        if (opt.use_embeddings && every_response_embedded(panel)) c.kind = FeatureKind::embedding;
        else if (try_word_vectors()) c.kind = FeatureKind::word_vectors;
        else {
            c.kind = FeatureKind::tfidf;
            c.fell_back = true;
        }
    }
    if (c.kind == FeatureKind::word_vectors) {
        c.cluster_threshold = opt.word_vectors.cluster_threshold;
        c.item_merge_threshold = opt.word_vectors.item_merge_threshold;
    }
    return c;
}

// Units of the fixed-point sums of panel means: 2^-40 (|values| <= 1, at
// most 2^20 texts: no overflow), so a mean does not depend on the order.
constexpr double fixed_point_unit = 1099511627776.0;

// Removes what every text shares from the unit rows of `e`, as `centring` says.
void centre_rows(WordEmbeddings &e, std::size_t count, WordVectorOptions::Centring centring, const double *common,
                 std::vector<std::int64_t> &sums) {
    const std::size_t dims = e.dims;
    if (centring == WordVectorOptions::Centring::common_direction) {
        for (std::size_t i = 0; i < count; ++i) {
            float *v = e.vectors.data() + i * dims;
            double dot = 0;
            for (std::size_t d = 0; d < dims; ++d) dot += static_cast<double>(v[d]) * common[d];
            for (std::size_t d = 0; d < dims; ++d) v[d] = static_cast<float>(v[d] - dot * common[d]);
        }
    } else if (centring == WordVectorOptions::Centring::panel_mean) {
        sums.assign(dims, 0);
        for (std::size_t i = 0; i < count; ++i)
            for (std::size_t d = 0; d < dims; ++d)
                sums[d] += std::llround(static_cast<double>(e.vectors[i * dims + d]) * fixed_point_unit);
        for (std::size_t d = 0; d < dims; ++d) {
            const double mean = static_cast<double>(sums[d]) / fixed_point_unit / static_cast<double>(count);
            for (std::size_t i = 0; i < count; ++i)
                e.vectors[i * dims + d] = static_cast<float>(e.vectors[i * dims + d] - mean);
        }
    }
}

// The similarity of `texts` by word vectors (blended with TF-IDF as the
// options say) into `out`.
void word_vector_similarity(const BackendOps &ops, const std::vector<std::string_view> &texts,
                            const AnalysisOptions &opt, const Comparison &c, Workspace &w, SparseRows &rows,
                            Matrix &out, CallTrace &trace) {
    thread_local std::vector<std::int64_t> sums;
    ops.embed_words(texts, *c.word_vectors->table, w.embedded, &trace);
    centre_rows(w.embedded, texts.size(), opt.word_vectors.centring, c.word_vectors->common_direction, sums);
    ops.similarity(w.embedded.vectors.data(), static_cast<std::uint32_t>(texts.size()), w.embedded.dims, out, &trace);
    const float blend = opt.word_vectors.tfidf_blend;
    if (blend <= 0) return;
    ops.featurize(texts, opt.features, rows, &trace);
    ops.similarity(rows, w.lexical, &trace);
    for (std::size_t k = 0; k < out.data.size(); ++k)
        out.data[k] = (1 - blend) * out.data[k] + blend * w.lexical.data[k];
}

// Each response's explicit lists, or what its markdown yields, in panel order.
void collect_items(const PanelView &panel, Workspace &w) {
    w.items.clear();
    for (std::uint32_t e = 0; e < panel.responses.size(); ++e) {
        const ResponseView &r = panel.responses[e];
        if (!r.recommendations || !r.limitations)
            w.markdown.scan(r.content, e, w.items, !r.recommendations, !r.limitations);
        if (r.recommendations)
            for (std::string_view t : *r.recommendations) append_item(w.items, w.items.recommendations, t, e);
        if (r.limitations)
            for (std::string_view t : *r.limitations) append_item(w.items, w.items.limitations, t, e);
    }
}

// Merges near-duplicate `items` into `out` (whose spare elements are `role`'s).
void aggregate_items(const BackendOps &ops, const PanelView &panel, const std::vector<ItemSpan> &items,
                     std::uint32_t quorum, const AnalysisOptions &opt, const Comparison &c, CallTrace &trace,
                     Workspace &w, std::vector<ItemResult> &out, Spare role) {
    const std::size_t m = std::min(items.size(), opt.max_items);
    if (m == 0) {
        resize_reusing(out, 0, role, w.fill);
        return;
    }
    w.texts.clear();
    w.owner.clear();
    for (std::size_t i = 0; i < m; ++i) {
        w.texts.push_back(w.items.view(items[i]));
        w.owner.push_back(items[i].owner);
    }
    if (c.kind == FeatureKind::word_vectors) {
        word_vector_similarity(ops, w.texts, opt, c, w, w.item_rows, w.item_similarity, trace);
    } else {  // items carry no embeddings: TF-IDF for both other kinds
        ops.featurize(w.texts, opt.features, w.item_rows, &trace);
        ops.similarity(w.item_rows, w.item_similarity, &trace);
    }
    ops.cluster(w.item_similarity, c.item_merge_threshold, w.groups, &trace);
    ops.aggregate(w.item_similarity, w.groups, w.owner, w.weights, quorum, opt.prior_weight, w.aggregate, &trace);
    const AggregateOutputs &agg = w.aggregate;

    // each group's items, in increasing order
    constexpr std::uint32_t none = UINT32_MAX;
    const std::uint32_t groups = w.groups.cluster_count;
    w.group_first.assign(groups, none);
    w.next_in_group.resize(m);
    for (std::size_t i = m; i-- > 0;) {
        const std::uint32_t g = w.groups.labels[i];
        w.next_in_group[i] = w.group_first[g];
        w.group_first[g] = static_cast<std::uint32_t>(i);
    }
    w.named.assign(panel.responses.size(), 0);
    resize_reusing(out, groups, role, w.fill);
    for (std::uint32_t k = 0; k < groups; ++k) {
        const std::uint32_t g = agg.ranking[k];
        ItemResult &r = out[k];
        const std::string_view representative = w.texts[agg.representative[g]];
        assign_text(r.text, representative, w.fill, kMaxMarkdownItemBytes);
        r.support = agg.supporters[g];
        r.score = agg.support[g];
        r.confidence = agg.confidence[g];
        r.consensus = agg.consensus[g] != 0;
        // every distinct wording, in item order; the experts who stated it
        w.distinct.clear();
        for (std::uint32_t i = w.group_first[g]; i != none; i = w.next_in_group[i]) {
            w.named[w.owner[i]] = k + 1;
            const auto same_text = [&](std::uint32_t j) { return w.texts[j] == w.texts[i]; };
            if (std::none_of(w.distinct.begin(), w.distinct.end(), same_text)) w.distinct.push_back(i);
        }
        const auto variant = [&](std::size_t v) { return w.texts[w.distinct[v]]; };
        assign_texts(r.variants, w.distinct.size(), variant, Spare::item_texts, w.fill, kMaxMarkdownItemBytes, 16);
        w.supporters.clear();
        for (std::uint32_t e = 0; e < w.named.size(); ++e)
            if (w.named[e] == k + 1) w.supporters.push_back(e);
        const auto supporter = [&](std::size_t v) { return panel.responses[w.supporters[v]].expert; };
        assign_texts(r.supporters, w.supporters.size(), supporter, Spare::names, w.fill, 64, panel.responses.size());
    }
}

// The experts' similarity matrix into w.similarity.
void expert_similarity(const BackendOps &ops, const PanelView &panel, const AnalysisOptions &opt, const Comparison &c,
                       Report &report, CallTrace &trace, Workspace &w) {
    const auto n = static_cast<std::uint32_t>(panel.responses.size());
    if (c.fell_back) report.features_note.assign(c.word_vectors->problem);
    else report.features_note.clear();
    if (c.kind == FeatureKind::word_vectors) {
        w.texts.clear();
        for (const auto &r : panel.responses) w.texts.push_back(r.content);
        report.features = "word_vectors";
        auto t = Clock::now();
        word_vector_similarity(ops, w.texts, opt, c, w, w.rows, w.similarity, trace);
        report.timing.similarity = ms_since(t);
        return;
    }
    if (c.kind == FeatureKind::embedding) {
        const std::size_t d = panel.responses[0].embedding_size;
        w.dense.resize(static_cast<std::size_t>(n) * d);
        for (std::uint32_t i = 0; i < n; ++i)
            std::copy_n(panel.responses[i].embedding, d, w.dense.begin() + static_cast<std::ptrdiff_t>(i * d));
        report.features = "embedding";
        auto t = Clock::now();
        ops.similarity(w.dense.data(), n, d, w.similarity, &trace);
        report.timing.similarity = ms_since(t);
        return;
    }
    w.texts.clear();
    for (const auto &r : panel.responses) w.texts.push_back(r.content);
    report.features = "tfidf";
    auto t = Clock::now();
    ops.featurize(w.texts, opt.features, w.rows, &trace);
    report.timing.featurize = ms_since(t);
    t = Clock::now();
    ops.similarity(w.rows, w.similarity, &trace);
    report.timing.similarity = ms_since(t);
}

// The report's per-expert, per-cluster and dissent parts, from w's clustering and consensus.
void fill_experts_and_clusters(const PanelView &panel, const AnalysisOptions &opt, const Workspace &w, Report &report) {
    const auto n = static_cast<std::uint32_t>(panel.responses.size());
    const Clustering &clusters = w.clusters;
    const ConsensusOutputs &c = w.consensus;
    resize_reusing(report.experts, n, Spare::experts, w.fill);
    resize_reusing(report.clusters, clusters.cluster_count, Spare::clusters, w.fill);
    for (ClusterResult &cl : report.clusters) {
        cl.member_indices.clear();
        if (w.fill == Fill::reused) cl.member_indices.reserve(n);  // room for any cluster: grown once
    }
    for (std::uint32_t i = 0; i < n; ++i) {
        ExpertResult &e = report.experts[i];
        assign_text(e.expert, panel.responses[i].expert, w.fill);
        e.index = i;
        e.weight = w.weights[i];
        e.centrality = c.centrality[i];
        e.robust_z = c.robust_z[i];
        e.cluster = clusters.labels[i];
        e.outlier = c.outlier[i] != 0;
        report.clusters[e.cluster].member_indices.push_back(i);
    }
    resize_reusing(report.dissent, clusters.cluster_count - 1, Spare::dissent, w.fill);  // all but the majority
    std::size_t dissent = 0;
    for (std::uint32_t k = 0; k < clusters.cluster_count; ++k) {
        ClusterResult &cl = report.clusters[k];
        auto member_name = [&](std::size_t j) { return panel.responses[cl.member_indices[j]].expert; };
        assign_texts(cl.members, cl.member_indices.size(), member_name, Spare::names, w.fill, 64, n);
        cl.representative_index = c.cluster_representative[k];
        assign_text(cl.representative, panel.responses[cl.representative_index].expert, w.fill);
        cl.share = c.cluster_share[k];
        cl.cohesion = c.cluster_cohesion[k];
        if (k != c.majority_cluster) {
            DissentResult &d = report.dissent[dissent++];
            d.cluster = k;
            assign_texts(d.members, cl.member_indices.size(), member_name, Spare::names, w.fill, 64, n);
            assign_text(d.representative, cl.representative, w.fill);
            excerpt(panel.responses[cl.representative_index].content, opt.excerpt_bytes, w.fill, d.excerpt);
        }
    }
}

// The report's served_by, degraded and events from the trace.
void fill_trace(const CallTrace &trace, Report &report) {
    // operations not served this time are dropped, their nodes kept for
    // the next ones (in steady state the same operations run on every panel)
    using Node = std::map<std::string, std::string>::node_type;
    thread_local std::vector<Node> spare_nodes;
    for (auto it = report.served_by.begin(); it != report.served_by.end();) {
        const auto next = std::next(it);
        if (std::none_of(trace.served_by.begin(), trace.served_by.end(),
                         [&](const auto &entry) { return it->first == entry.first; }))
            spare_nodes.push_back(report.served_by.extract(it));
        it = next;
    }
    for (const auto &[op, backend] : trace.served_by) {
        if (const auto it = report.served_by.find(op); it != report.served_by.end()) {
            it->second = backend;
        } else if (!spare_nodes.empty()) {
            Node node = std::move(spare_nodes.back());
            spare_nodes.pop_back();
            node.key() = op;
            node.mapped() = backend;
            report.served_by.insert(std::move(node));
        } else {
            report.served_by.emplace(op, backend);
        }
    }
    report.degraded = trace.degraded;
    report.events = trace.events;
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

void analyze_panel(const BackendOps &ops, const PanelView &panel, const AnalysisOptions &opt,
                   const FeatureSources &sources, CallTrace &trace, Report &report, Fill fill) {
    check_limits(panel, opt);
    validate(panel);
    const auto start = Clock::now();
    const auto n = static_cast<std::uint32_t>(panel.responses.size());
    Workspace &w = workspace();
    w.fill = fill;
    report.panel_id.assign(panel.id);
    report.question.assign(panel.question);
    report.timing = {};

    w.weights.resize(n);
    for (std::uint32_t i = 0; i < n; ++i)
        w.weights[i] = static_cast<float>(std::max(opt.min_weight, panel.responses[i].confidence.value_or(1.0)));

    const Comparison comparison = resolve_features(panel, opt, sources);
    if (comparison.fell_back && comparison.word_vectors->invalid) {  // the file is there but unusable
        trace.degraded = true;
        trace.events.push_back(comparison.word_vectors->problem + "; TF-IDF was used");
    }
    expert_similarity(ops, panel, opt, comparison, report, trace, w);
    auto t = Clock::now();
    ops.cluster(w.similarity, comparison.cluster_threshold, w.clusters, &trace);
    report.timing.cluster = ms_since(t);
    t = Clock::now();
    ops.consensus(w.similarity, w.weights, w.clusters, opt.outlier_z, opt.prior_weight, w.consensus, &trace);
    report.timing.consensus = ms_since(t);
    fill_experts_and_clusters(panel, opt, w, report);

    const ConsensusOutputs &c = w.consensus;
    std::uint32_t largest = 0;
    for (const ClusterResult &cl : report.clusters)
        largest = std::max(largest, static_cast<std::uint32_t>(cl.member_indices.size()));
    ConsensusResult &cr = report.consensus;
    cr.score = c.mean_agreement;
    cr.majority_cluster = c.majority_cluster;
    cr.majority_share = c.cluster_share[c.majority_cluster];
    cr.margin = c.margin;
    cr.entropy = c.entropy;
    cr.medoid_index = c.medoid;
    assign_text(cr.medoid, panel.responses[c.medoid].expert, w.fill);
    cr.level = classify_consensus(n, w.clusters.cluster_count, largest,
                                  static_cast<std::uint32_t>(report.clusters[c.majority_cluster].members.size()),
                                  cr.majority_share, opt.strong_share);
    report.confidence = c.confidence;

    // recommendations and limitations
    t = Clock::now();
    report.quorum = opt.quorum > 0 ? opt.quorum : n / 2 + 1;
    collect_items(panel, w);
    for (auto [list, name] :
         {std::pair{&w.items.recommendations, "recommendations"}, std::pair{&w.items.limitations, "limitations"}})
        if (list->size() > opt.max_items)
            trace.events.push_back(std::string(name) + ": " + std::to_string(list->size()) + " items, only the first " +
                                   std::to_string(opt.max_items) + " were aggregated");
    aggregate_items(ops, panel, w.items.recommendations, report.quorum, opt, comparison, trace, w,
                    report.recommendations, Spare::recommendations);
    aggregate_items(ops, panel, w.items.limitations, report.quorum, opt, comparison, trace, w, report.limitations,
                    Spare::limitations);
    report.timing.aggregate = ms_since(t);
    report.timing.total = ms_since(start);
    fill_trace(trace, report);
}

}  // namespace coe::detail

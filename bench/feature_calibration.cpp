// feature_calibration - how each way of comparing answers does on the dev
// corpora, to choose the default features and their thresholds by
// measurement.  Prints the markdown tables docs/analysis.md quotes.
//
//   feature_calibration [--truthfulqa FILE] [--mtbench FILE] [--word-vectors FILE] [--seed N]
//
// Three measures per candidate (features, weighting, centring, TF-IDF blend)
// and cluster threshold:
//   TruthfulQA  the share of panels of 3 correct + 2 incorrect answers
//               (truthfulqa_panels.hpp) whose majority representative is a
//               correct answer; a random pick is right 0.600 of the time.
//   two topics  the share of panels of 3 + 3 answers to two different
//               MT-Bench questions (the first three answers of consecutive
//               panels: two clearly different positions, each held by three
//               experts) that the clustering splits exactly along the
//               questions: clusters must still mean something.
//   MT-Bench    the share of panels with a reference answer whose majority
//               representative is closer to the reference than the average
//               response (cosine of TF-IDF rows, reference in the IDF: the
//               yardstick of consensus_accuracy, independent of the
//               candidate).
// A candidate's row is at the threshold with the best TruthfulQA accuracy
// among those that split at least half of the two-topic panels.
#include <cstdio>
#include <map>
#include <iostream>
#include <numeric>
#include <sstream>

#include <boost/json.hpp>

#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "mtbench_references.hpp"
#include "truthfulqa_panels.hpp"

namespace {

using namespace coe::bench;

struct Corpus {
    std::vector<TruthfulPanel> truthful;
    std::vector<coe::Panel> two_topics;             // experts 0-2 answer one question, 3-5 another
    std::vector<coe::Panel> all_mtbench, mtbench;   // every panel; those with a reference
    std::vector<std::vector<double>> to_reference;  // per MT-Bench panel, each response's cosine to the reference
};

std::vector<coe::PanelView> views_of(const std::vector<coe::Panel> &panels) {
    std::vector<coe::PanelView> v;
    for (const auto &p : panels) v.push_back(p.view());
    return v;
}

std::vector<coe::Panel> two_topic_panels(const std::vector<coe::Panel> &all) {
    std::vector<coe::Panel> out;
    for (std::size_t i = 0; i + 1 < all.size(); i += 2) {
        coe::Panel p;
        p.id = "two-topics-" + all[i].id + "-" + all[i + 1].id;
        p.question = all[i].question + " / " + all[i + 1].question;
        for (std::size_t side = 0; side < 2; ++side)
            for (std::size_t k = 0; k < 3 && k < all[i + side].responses.size(); ++k) {
                coe::Response r = all[i + side].responses[k];
                r.expert = "topic" + std::to_string(side) + "-" + r.expert;
                p.responses.push_back(std::move(r));
            }
        out.push_back(std::move(p));
    }
    return out;
}

struct Scores {
    float threshold = 0;
    double truthful = 0, truthful_clusters = 0, truthful_pairs = 0, split = 0, mtbench = 0, mtbench_clusters = 0;
};

const coe::Report &report_of(const coe::Engine::BatchResult &r, const std::string &id) {
    if (!r.report) throw coe::Error(id + ": " + r.error);
    return *r.report;
}

// How well the clusters match correct vs incorrect answers: the adjusted
// Rand index (1: exactly; 0: as well as chance, which is also what one
// cluster of everything or all singletons score).
double adjusted_rand_index(const coe::Report &r, const std::vector<bool> &correct) {
    auto pairs = [](double x) { return x * (x - 1) / 2; };
    std::map<std::pair<std::uint32_t, bool>, double> cell;
    std::map<std::uint32_t, double> cluster_size;
    double truth[2] = {0, 0};
    for (std::size_t e = 0; e < r.experts.size(); ++e) {
        ++cell[{r.experts[e].cluster, correct[e]}];
        ++cluster_size[r.experts[e].cluster];
        ++truth[correct[e] ? 1 : 0];
    }
    double index = 0, clusters = 0;
    for (const auto &[key, n] : cell) index += pairs(n);
    for (const auto &[key, n] : cluster_size) clusters += pairs(n);
    const double truths = pairs(truth[0]) + pairs(truth[1]);
    const double expected = truths * clusters / pairs(static_cast<double>(r.experts.size()));
    const double most = (truths + clusters) / 2;
    return most > expected ? (index - expected) / (most - expected) : 0.0;
}

Scores measure(const coe::Engine &engine, const Corpus &c, coe::AnalysisOptions o, float threshold) {
    o.cluster_threshold = o.word_vectors.cluster_threshold = threshold;
    Scores s;
    s.threshold = threshold;
    std::vector<coe::PanelView> truthful;
    for (const auto &p : c.truthful) truthful.push_back(p.panel.view());
    const auto t = engine.analyze_batch(truthful, o);
    for (std::size_t i = 0; i < t.size(); ++i) {
        const coe::Report &r = report_of(t[i], c.truthful[i].panel.id);
        s.truthful += c.truthful[i].correct[r.clusters[r.consensus.majority_cluster].representative_index];
        s.truthful_clusters += static_cast<double>(r.clusters.size());
        s.truthful_pairs += adjusted_rand_index(r, c.truthful[i].correct);
    }
    s.truthful /= static_cast<double>(t.size());
    s.truthful_clusters /= static_cast<double>(t.size());
    s.truthful_pairs /= static_cast<double>(t.size());
    const auto two = engine.analyze_batch(views_of(c.two_topics), o);
    for (std::size_t i = 0; i < two.size(); ++i) {
        const coe::Report &r = report_of(two[i], c.two_topics[i].id);
        const auto label = [&](std::size_t e) { return r.experts[e].cluster; };
        s.split += r.clusters.size() == 2 && label(0) == label(1) && label(1) == label(2) && label(3) == label(4) &&
                   label(4) == label(5) && label(0) != label(3);
    }
    s.split /= static_cast<double>(two.size());
    const auto m = engine.analyze_batch(views_of(c.mtbench), o);
    for (std::size_t i = 0; i < m.size(); ++i) {
        const coe::Report &r = report_of(m[i], c.mtbench[i].id);
        const auto &sims = c.to_reference[i];
        const double mean = std::accumulate(sims.begin(), sims.end(), 0.0) / static_cast<double>(sims.size());
        s.mtbench += sims[r.clusters[r.consensus.majority_cluster].representative_index] > mean;
        s.mtbench_clusters += static_cast<double>(r.clusters.size());
    }
    s.mtbench /= static_cast<double>(m.size());
    s.mtbench_clusters /= static_cast<double>(m.size());
    return s;
}

struct Candidate {
    std::string name;
    coe::AnalysisOptions options;
};

std::vector<Candidate> candidates() {
    using W = coe::WordVectorOptions;
    std::vector<Candidate> out;
    coe::AnalysisOptions tfidf;
    tfidf.feature_kind = coe::FeatureKind::tfidf;
    out.push_back({"TF-IDF", tfidf});
    for (auto weighting : {W::Weighting::uniform, W::Weighting::frequency})
        for (bool stop : {false, true})
            for (auto centring : {W::Centring::none, W::Centring::common_direction, W::Centring::panel_mean})
                for (float blend : {0.0f, 0.5f}) {
                    coe::AnalysisOptions o;
                    o.feature_kind = coe::FeatureKind::word_vectors;
                    o.word_vectors.weighting = weighting;
                    o.word_vectors.drop_stop_words = stop;
                    o.word_vectors.centring = centring;
                    o.word_vectors.tfidf_blend = blend;
                    std::string name = std::string("word vectors, ") +
                                       (weighting == W::Weighting::uniform ? "plain mean" : "frequency-weighted") +
                                       (stop ? ", no stop words" : "") +
                                       (centring == W::Centring::none               ? ""
                                        : centring == W::Centring::common_direction ? ", common direction removed"
                                                                                    : ", panel mean removed") +
                                       (blend > 0 ? ", 50 % TF-IDF" : "");
                    out.push_back({name, o});
                }
    return out;
}

void print_row(const std::string &name, const Scores &s) {
    std::printf("| %s | %.2f | %.3f | %.2f | %.3f | %.3f | %.3f | %.1f |\n", name.c_str(), s.threshold, s.truthful,
                s.truthful_clusters, s.truthful_pairs, s.split, s.mtbench, s.mtbench_clusters);
}

}  // namespace

int main(int argc, char **argv) {
    std::string truthfulqa = COE_DEFAULT_DATA_DIR "/truthfulqa-dev.csv";
    std::string mtbench = COE_DEFAULT_DATA_DIR "/mtbench-panels.jsonl";
    coe::EngineOptions engine_options;
    unsigned seed = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 < argc && a == "--truthfulqa") truthfulqa = argv[++i];
        else if (i + 1 < argc && a == "--mtbench") mtbench = argv[++i];
        else if (i + 1 < argc && a == "--word-vectors") engine_options.word_vectors_file = argv[++i];
        else if (i + 1 < argc && a == "--seed") seed = static_cast<unsigned>(std::stoul(argv[++i]));
        else {
            std::cerr << "usage: feature_calibration [--truthfulqa FILE] [--mtbench FILE] [--word-vectors FILE] "
                         "[--seed N]\n";
            return 2;
        }
    }
    try {
        const coe::Engine engine(engine_options);
        Corpus c;
        c.truthful = truthfulqa_panels(truthfulqa, seed);
        MtBenchCorpus m = read_mtbench(engine, mtbench);
        c.all_mtbench = std::move(m.all);
        c.mtbench = std::move(m.with_reference);
        c.to_reference = std::move(m.to_reference);
        c.two_topics = two_topic_panels(c.all_mtbench);
        std::printf("backend: %s; %zu TruthfulQA panels (seed %u), %zu two-topic panels, %zu MT-Bench panels\n\n",
                    engine.active_backend().c_str(), c.truthful.size(), seed, c.two_topics.size(), c.mtbench.size());
        std::printf(
            "| candidate | threshold | TruthfulQA correct | clusters | ARI | two topics split | MT-Bench closer | "
            "clusters |\n|---|---|---|---|---|---|---|---|\n");
        const std::vector<float> thresholds = {0.0f, 0.02f, 0.05f, 0.08f, 0.1f,  0.12f, 0.15f, 0.2f,
                                               0.25f, 0.3f, 0.4f,  0.5f,  0.6f, 0.7f,  0.8f,  0.82f,
                                               0.84f, 0.85f, 0.86f, 0.87f, 0.88f, 0.9f, 0.92f, 0.95f};
        std::vector<std::pair<std::string, std::vector<Scores>>> all;
        for (const Candidate &cand : candidates()) {
            std::vector<Scores> grid;
            for (float t : thresholds) grid.push_back(measure(engine, c, cand.options, t));
            const Scores *best = nullptr;
            for (const Scores &s : grid)
                if (s.split >= 0.5 && (best == nullptr || s.truthful > best->truthful)) best = &s;
            if (best == nullptr)
                std::printf("| %s | - | no threshold splits half of the two-topic panels | | | | | |\n",
                            cand.name.c_str());
            else print_row(cand.name, *best);
            std::fflush(stdout);
            all.emplace_back(cand.name, std::move(grid));
        }
        // The defaults, by the rules docs/analysis.md states: for answers, the
        // row that reaches the TruthfulQA target and splits the most two-topic
        // panels; for items (short statements, as TruthfulQA answers are), the
        // threshold of that candidate whose clusters best match correct vs
        // incorrect answers (adjusted Rand index).
        constexpr double target = 0.68;
        const Scores *chosen = nullptr;
        const std::string *chosen_name = nullptr;
        for (const auto &[name, grid] : all)
            for (const Scores &s : grid)
                if (s.truthful >= target &&
                    (chosen == nullptr || s.split > chosen->split ||
                     (s.split == chosen->split && s.truthful > chosen->truthful))) {
                    chosen = &s;
                    chosen_name = &name;
                }
        std::printf("\nAnswers: TruthfulQA correct >= %.2f, then the most two-topic panels split: ", target);
        if (chosen == nullptr) {
            std::printf("no row reaches the target\n");
        } else {
            std::printf("%s at %.2f\n", chosen_name->c_str(), chosen->threshold);
            for (const auto &[name, grid] : all) {
                if (name != *chosen_name && name != "TF-IDF") continue;
                const Scores *items = &grid.front();
                for (const Scores &s : grid)
                    if (s.truthful_pairs > items->truthful_pairs) items = &s;
                std::printf("Items, %s: the best TruthfulQA ARI at %.2f (%.3f)\n", name.c_str(),
                            items->threshold, items->truthful_pairs);
            }
        }
        std::printf("\nEvery threshold of every candidate:\n\n");
        std::printf(
            "| candidate | threshold | TruthfulQA correct | clusters | ARI | two topics split | MT-Bench closer | "
            "clusters |\n|---|---|---|---|---|---|---|---|\n");
        for (const auto &[name, grid] : all)
            for (const Scores &s : grid) print_row(name, s);
    } catch (const std::exception &e) {
        std::cerr << "feature_calibration: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

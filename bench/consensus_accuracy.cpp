// consensus_accuracy - how well the consensus pipeline finds the right
// answer on corpora where the right answer is known.  Prints markdown tables.
//
//   consensus_accuracy [--truthfulqa FILE] [--mtbench FILE] [--seed N]
//
// TruthfulQA: for every question with at least 3 correct and 2 incorrect
// reference answers, a panel of 3 correct + 2 incorrect answers (drawn and
// shuffled with a fixed seed) is analysed at several clustering thresholds;
// we count how often the majority cluster's representative, and the medoid,
// is a correct answer.  Picking an answer at random is right 3/5 = 0.60 of
// the time.
//
// MT-Bench: for every panel with a reference answer, the TF-IDF similarity
// of each response to the reference is computed (reference included in the
// IDF); we count how often the medoid (and the majority representative) is
// closer to the reference than the average response is.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

#include <boost/json.hpp>

#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "mtbench_references.hpp"
#include "truthfulqa_panels.hpp"

namespace {

using namespace coe::bench;

void run_truthfulqa(const coe::Engine &engine, const std::string &file, unsigned seed) {
    const auto panels = truthfulqa_panels(file, seed);
    std::vector<coe::PanelView> views;
    for (const auto &p : panels) views.push_back(p.panel.view());
    std::printf("TruthfulQA: %zu panels of 3 correct + 2 incorrect answers (seed %u); random pick: 0.600\n\n",
                panels.size(), seed);
    std::printf("| cluster threshold | majority representative correct | medoid correct | mean clusters |\n");
    std::printf("|---|---|---|---|\n");
    for (float threshold : {0.0f, 0.05f, 0.08f, 0.1f, 0.12f, 0.15f, 0.2f, 0.25f, 0.3f}) {
        coe::AnalysisOptions o;
        o.cluster_threshold = threshold;
        const auto results = engine.analyze_batch(views, o);
        double rep_ok = 0, medoid_ok = 0, clusters = 0;
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (!results[i].report) throw coe::Error(panels[i].panel.id + ": " + results[i].error);
            const coe::Report &r = *results[i].report;
            rep_ok += panels[i].correct[r.clusters[r.consensus.majority_cluster].representative_index];
            medoid_ok += panels[i].correct[r.consensus.medoid_index];
            clusters += static_cast<double>(r.clusters.size());
        }
        const double n = static_cast<double>(panels.size());
        std::printf("| %.2f | %.3f | %.3f | %.2f |\n", threshold, rep_ok / n, medoid_ok / n, clusters / n);
    }
    std::printf("\n");
}

void run_mtbench(const coe::Engine &engine, const std::string &file) {
    // panels with a reference, and each response's cosine to that reference
    const MtBenchCorpus corpus = read_mtbench(engine, file);
    const std::vector<coe::Panel> &panels = corpus.with_reference;
    const std::vector<std::vector<double>> &to_reference = corpus.to_reference;
    std::vector<coe::PanelView> views;
    for (const auto &p : panels) views.push_back(p.view());
    std::printf(
        "MT-Bench: %zu panels with a reference answer (31 responses each); cosine to the reference\n"
        "(TF-IDF, reference included in the IDF) of the chosen response vs the average response\n\n",
        panels.size());
    std::printf(
        "| cluster threshold | medoid closer | majority representative closer | mean gain of representative | "
        "mean clusters | levels (unanimous/strong/majority/split/none) |\n");
    std::printf("|---|---|---|---|---|---|\n");
    for (float threshold : {0.0f, 0.05f, 0.08f, 0.1f, 0.12f, 0.15f, 0.2f, 0.25f, 0.3f}) {
        coe::AnalysisOptions o;
        o.cluster_threshold = threshold;
        const auto results = engine.analyze_batch(views, o);
        double medoid_closer = 0, rep_closer = 0, gain = 0, clusters = 0;
        int levels[5] = {0, 0, 0, 0, 0};
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (!results[i].report) throw coe::Error(panels[i].id + ": " + results[i].error);
            const coe::Report &r = *results[i].report;
            const auto &sims = to_reference[i];
            const double mean = std::accumulate(sims.begin(), sims.end(), 0.0) / static_cast<double>(sims.size());
            const double rep = sims[r.clusters[r.consensus.majority_cluster].representative_index];
            medoid_closer += sims[r.consensus.medoid_index] > mean;
            rep_closer += rep > mean;
            gain += rep - mean;
            clusters += static_cast<double>(r.clusters.size());
            ++levels[static_cast<int>(r.consensus.level)];
        }
        const double n = static_cast<double>(panels.size());
        std::printf("| %.2f | %.3f | %.3f | %+.4f | %.1f | %d/%d/%d/%d/%d |\n", threshold, medoid_closer / n,
                    rep_closer / n, gain / n, clusters / n, levels[0], levels[1], levels[2], levels[3], levels[4]);
    }
    std::printf("\n");

    // The confidence properties with TF-IDF features, where an added response
    // also changes the panel's IDF: every panel cut to its first 9 experts,
    // plus an expert repeating the majority's representative, or an
    // off-topic one.
    std::size_t agree_lowered = 0, contra_raised = 0;
    for (const auto &full : panels) {
        coe::Panel base = full;
        base.responses.resize(std::min<std::size_t>(9, base.responses.size()));
        const coe::Report before = engine.analyze(base.view());
        coe::Panel agree = base, contra = base;
        agree.responses.push_back(
            base.responses[before.clusters[before.consensus.majority_cluster].representative_index]);
        agree.responses.back().expert = "agreeing-expert";
        contra.responses.push_back({"off-topic-expert",
                                    "Quantum chromodynamics predicts gluon confinement in hadrons at low energy.",
                                    std::nullopt,
                                    std::nullopt,
                                    std::nullopt,
                                    {}});
        agree_lowered += engine.analyze(agree.view()).confidence < before.confidence;
        contra_raised += engine.analyze(contra.view()).confidence > before.confidence;
    }
    std::printf(
        "Confidence properties with TF-IDF (%zu panels cut to 9 experts): an agreeing expert lowered it in "
        "%zu, an off-topic expert raised it in %zu.\n\n",
        panels.size(), agree_lowered, contra_raised);
}

}  // namespace

int main(int argc, char **argv) {
    std::string truthfulqa = COE_DEFAULT_DATA_DIR "/truthfulqa-dev.csv";
    std::string mtbench = COE_DEFAULT_DATA_DIR "/mtbench-panels.jsonl";
    unsigned seed = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 < argc && a == "--truthfulqa") truthfulqa = argv[++i];
        else if (i + 1 < argc && a == "--mtbench") mtbench = argv[++i];
        else if (i + 1 < argc && a == "--seed") seed = static_cast<unsigned>(std::stoul(argv[++i]));
        else {
            std::cerr << "usage: consensus_accuracy [--truthfulqa FILE] [--mtbench FILE] [--seed N]\n";
            return 2;
        }
    }
    try {
        // TF-IDF features: the thresholds below are on its scale (the word
        // vectors' defaults come from feature_calibration)
        coe::EngineOptions options;
        options.features = coe::FeatureKind::tfidf;
        coe::Engine engine(options);
        std::printf("backend: %s; features: tfidf\n\n", engine.active_backend().c_str());
        run_truthfulqa(engine, truthfulqa, seed);
        run_mtbench(engine, mtbench);
    } catch (const std::exception &e) {
        std::cerr << "consensus_accuracy: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

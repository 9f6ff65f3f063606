// deliberation_accuracy - how often each way of choosing the circle's answer
// picks a correct one, on labelled panels, replayed offline from
// recordings (no network):
//
//   deliberation_accuracy panels [--truthfulqa FILE] [--seed N] [--limit N] > panels.jsonl
//       labelled TruthfulQA panels (3 correct + 2 incorrect answers; each
//       response carries "correct"); then, against real endpoints:
//   coe deliberate panels.jsonl --experts real.json --review --record rec.jsonl
//   deliberation_accuracy replay panels.jsonl rec.jsonl
//       per method: lexical medoid (TF-IDF), embedding medoid (the
//       recorded embeddings), Borda winner and Schulze winner (the recorded
//       rankings), blend (0.5 Borda + 0.5 centrality position, as the
//       consultation ranks), and the random baseline.
#include <cstdio>
#include <numeric>
#include <iostream>
#include <map>

#include <boost/json.hpp>

#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "deliberation/peer_review.hpp"
#include "truthfulqa_panels.hpp"

namespace {

namespace json = boost::json;
using namespace coe::bench;

int write_panels(int argc, char **argv) {
    std::string file = COE_DEFAULT_DATA_DIR "/truthfulqa-dev.csv";
    unsigned seed = 7;
    std::size_t limit = SIZE_MAX;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--truthfulqa") file = argv[i + 1];
        else if (a == "--seed") seed = static_cast<unsigned>(std::stoul(argv[i + 1]));
        else if (a == "--limit") limit = std::stoul(argv[i + 1]);
        else throw coe::Error("panels: unknown argument " + a);
    }
    std::size_t n = 0;
    for (const auto &tp : truthfulqa_panels(file, seed)) {
        if (n++ == limit) break;
        json::array responses;
        for (std::size_t i = 0; i < tp.panel.responses.size(); ++i)
            responses.push_back(json::object{{"expert", tp.panel.responses[i].expert},
                                             {"content", tp.panel.responses[i].content},
                                             {"correct", static_cast<bool>(tp.correct[i])}});
        std::cout << json::serialize(json::object{
                         {"id", tp.panel.id}, {"question", tp.panel.question}, {"responses", std::move(responses)}})
                  << "\n";
    }
    return 0;
}

struct Tally {
    std::size_t panels = 0, correct = 0;
    void add(bool ok) { ++panels, correct += ok; }
};

std::uint32_t top_of(const std::vector<double> &score) {  // ties: the earlier answer
    std::uint32_t best = 0;
    for (std::uint32_t i = 1; i < score.size(); ++i)
        if (score[i] > score[best]) best = i;
    return best;
}

int replay(const std::string &panels_file, const std::string &recording_file) {
    coe::EngineOptions o;
    o.use_environment = false;
    const coe::Engine engine(o);
    std::map<std::string, json::object> recorded;  // by panel id; a later line wins
    {
        std::istringstream lines(read_file(recording_file));
        for (std::string line; std::getline(lines, line);)
            if (!line.empty()) {
                json::object r = json::parse(line).as_object();
                recorded[std::string(r.at("id").as_string())] = std::move(r);
            }
    }
    std::map<std::string, Tally> tally;
    std::size_t reviews = 0, failed_reviews = 0, labelled_correct = 0, labelled_total = 0;
    std::string embedder;
    std::istringstream lines(read_file(panels_file));
    for (std::string line; std::getline(lines, line);) {
        if (line.empty()) continue;
        const json::object labelled = json::parse(line).as_object();
        const std::string id(labelled.at("id").as_string());
        auto rec = recorded.find(id);
        if (rec == recorded.end()) continue;  // not recorded (yet)
        coe::Panel panel = coe::parse_panel(line, panels_file + ":" + id);
        std::vector<bool> correct;
        std::map<std::string, std::uint32_t> index;
        for (const auto &r : labelled.at("responses").as_array()) {
            index[std::string(r.at("expert").as_string())] = static_cast<std::uint32_t>(correct.size());
            correct.push_back(r.at("correct").as_bool());
            ++labelled_total;  // the random pick's expectation: the share of correct answers
            labelled_correct += correct.back();
        }
        const auto n = static_cast<std::uint32_t>(correct.size());
        const coe::Report lexical = engine.analyze(panel.view());
        tally["lexical medoid (TF-IDF)"].add(correct[lexical.consensus.medoid_index]);
        // embeddings, as recorded
        bool embedded = true;
        for (const auto &r : rec->second.at("responses").as_array()) {
            const auto *e = r.as_object().if_contains("embedding");
            auto it = index.find(std::string(r.at("expert").as_string()));
            if (!e || it == index.end()) {
                embedded = false;
                continue;
            }
            for (const auto &x : e->as_array()) panel.responses[it->second].embedding.push_back(x.to_number<float>());
        }
        if (embedder.empty()) embedder = std::string(rec->second.at("embedder").as_string());
        const coe::Report meaning = embedded ? engine.analyze(panel.view()) : lexical;
        if (embedded) tally["embedding medoid"].add(correct[meaning.consensus.medoid_index]);
        // the recorded rankings, aggregated afresh
        std::vector<coe::consult_detail::Ballot> ballots;
        for (const auto &r : rec->second.at("reviews").as_array()) {
            ++reviews;
            if (r.at("status").as_string() != "ok") {
                ++failed_reviews;
                continue;
            }
            coe::consult_detail::Ballot b;
            for (const auto &e : r.at("ranking").as_array()) b.ranking.push_back(index.at(std::string(e.as_string())));
            ballots.push_back(std::move(b));
        }
        if (ballots.empty()) continue;
        const auto ranked = coe::consult_detail::aggregate_ballots(ballots, n);
        std::vector<double> borda(n), schulze(n), blend(n);
        std::vector<std::uint32_t> by_centrality(n);
        std::iota(by_centrality.begin(), by_centrality.end(), 0u);
        std::stable_sort(by_centrality.begin(), by_centrality.end(),
                         [&](auto a, auto b) { return meaning.experts[a].centrality > meaning.experts[b].centrality; });
        for (std::uint32_t pos = 0; pos < n; ++pos)
            blend[by_centrality[pos]] =
                0.5 * (n > 1 ? static_cast<double>(n - 1 - pos) / static_cast<double>(n - 1) : 1.0);
        for (std::uint32_t i = 0; i < n; ++i) {
            borda[i] = -static_cast<double>(ranked[i].borda_rank);
            schulze[i] = -static_cast<double>(ranked[i].schulze_rank);
            blend[i] += 0.5 * ranked[i].borda;
        }
        tally["Borda winner"].add(correct[top_of(borda)]);
        tally["Schulze winner"].add(correct[top_of(schulze)]);
        tally["blend (Borda + centrality)"].add(correct[top_of(blend)]);
    }
    std::printf("panels replayed: %zu (embedder: %s; reviews: %zu, failed %zu)\n\n",
                tally["lexical medoid (TF-IDF)"].panels, embedder.empty() ? "none" : embedder.c_str(), reviews,
                failed_reviews);
    std::printf("| method | panels | correct |\n|---|---:|---:|\n");
    std::printf("| random pick (expected) | %zu | %.3f |\n", tally["lexical medoid (TF-IDF)"].panels,
                labelled_total ? static_cast<double>(labelled_correct) / static_cast<double>(labelled_total) : 0.0);
    for (const char *m : {"lexical medoid (TF-IDF)", "embedding medoid", "Borda winner", "Schulze winner",
                          "blend (Borda + centrality)"}) {
        const Tally &t = tally[m];
        if (t.panels == 0) std::printf("| %s | 0 | - |\n", m);
        else
            std::printf("| %s | %zu | %.3f |\n", m, t.panels,
                        static_cast<double>(t.correct) / static_cast<double>(t.panels));
    }
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    try {
        const std::string cmd = argc > 1 ? argv[1] : "";
        if (cmd == "panels") return write_panels(argc, argv);
        if (cmd == "replay" && argc == 4) return replay(argv[2], argv[3]);
        std::cerr << "usage: deliberation_accuracy panels [--truthfulqa FILE] [--seed N] [--limit N]\n"
                     "       deliberation_accuracy replay PANELS.jsonl RECORDING.jsonl\n";
        return 2;
    } catch (const std::exception &e) {
        std::cerr << "deliberation_accuracy: " << e.what() << "\n";
        return 1;
    }
}

// The analysis with word vectors: which features a report uses and why,
// falling back when the file is missing or corrupt, permutation invariance
// and identical reports on every backend.  The vectors are synthetic (made
// here from the MT-Bench vocabulary), so the tests need no download.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include <unistd.h>

#include <boost/json.hpp>

#include "coe/engine.hpp"
#include "coe/report_format.hpp"
#include "coe/word_vectors.hpp"
#include "test_support.hpp"

using namespace coe;
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t dims = 24;

bool token_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

// The tokens of `text` as coe.embed_words/1 makes them (folded, 2+ bytes).
std::vector<std::string> tokens(const std::string &text) {
    std::vector<std::string> out;
    std::string t;
    for (char ch : text + " ") {
        const auto c = static_cast<unsigned char>(ch);
        if (token_byte(c)) {
            t += static_cast<char>(c < 0x80 ? std::tolower(c) : c);
        } else {
            if (t.size() >= 2) out.push_back(t);
            t.clear();
        }
    }
    return out;
}

// Words about storing passwords lean one way, words about web front ends
// another; every other word is noise.
std::vector<double> vector_of(const std::string &word, std::mt19937 &rng) {
    static const std::set<std::string> passwords = {"hash",  "hashes", "bcrypt",   "argon2",    "argon2id",
                                                    "salt",  "salted", "password", "passwords", "brute",
                                                    "force", "plain",  "md5"};
    static const std::set<std::string> frontends = {"frontend", "page", "application", "framework", "cache", "static",
                                                    "assets",   "cdn",  "load",        "times",     "single"};
    std::normal_distribution<double> noise(0.0, 0.3);
    std::vector<double> v(dims);
    for (double &x : v) x = noise(rng);
    if (passwords.count(word)) v[0] += 3;
    if (frontends.count(word)) v[1] += 3;
    return v;
}

// A word-vector file (converted from JSON in the source package's shape)
// holding every word of the MT-Bench panels and of `extra`.
fs::path synthetic_vectors(const std::string &extra) {
    static const fs::path file = [&] {
        std::set<std::string> vocabulary;
        for (const auto &panel : coe::test::mtbench_panel_texts())
            for (const auto &text : panel)
                for (auto &t : tokens(text)) vocabulary.insert(std::move(t));
        for (auto &t : tokens(extra)) vocabulary.insert(std::move(t));
        std::mt19937 rng(7);
        boost::json::object vectors;
        boost::json::array words;
        std::size_t index = 0;
        for (const std::string &w : vocabulary) {
            boost::json::array v;
            for (double x : vector_of(w, rng)) v.push_back(x);
            v.push_back(1.0);  // the norm field, not used
            v.push_back(index++);
            vectors[w] = std::move(v);
            words.push_back(boost::json::string(w));
        }
        const fs::path dir = fs::temp_directory_path() / ("coe-wv-tests-" + std::to_string(::getpid()));
        fs::create_directories(dir);
        const fs::path json = dir / "vectors.json", out = dir / "word-vectors.coewv";
        std::ofstream(json) << boost::json::serialize(
            boost::json::object{{"words", words}, {"vectors", vectors}, {"unkVector", boost::json::array(dims, 0.0)}});
        import_word_vectors(json.string(), out.string());
        return out;
    }();
    return file;
}

Panel three_agree_one_dissents() {
    return coe::test::make_panel({
        {"ann", "Hash every password with bcrypt or argon2 using a unique random salt per user."},
        {"bob", "Store only a salted slow hash: argon2id or bcrypt with a per-user random salt."},
        {"cat", "Use argon2 or bcrypt, a slow password hash with a random salt for each user."},
        {"dan", "Migrate the frontend to a single page application framework and cache static assets on a CDN."},
    });
}

std::string all_texts() {
    std::string s;
    for (const auto &r : three_agree_one_dissents().responses) s += r.content + " ";
    return s;
}

EngineOptions with_vectors(const fs::path &file, std::string backend = {}) {
    EngineOptions o = coe::test::isolated_options({coe::test::backend_plugin_dir()}, std::move(backend));
    o.word_vectors_file = file;
    return o;
}

const Engine &vector_engine() {
    static Engine e(with_vectors(synthetic_vectors(all_texts())));
    return e;
}

std::map<std::string, std::set<std::string>> groups_of(const Report &r) {
    std::map<std::string, std::set<std::string>> g;
    for (const auto &c : r.clusters)
        for (const auto &m : c.members) g[m] = {c.members.begin(), c.members.end()};
    return g;
}

}  // namespace

AnalysisOptions automatic() {
    AnalysisOptions o;
    o.feature_kind = FeatureKind::automatic;
    return o;
}

TEST_CASE("automatic features: word vectors when the file is there, and they compare meanings") {
    const Report r = vector_engine().analyze(three_agree_one_dissents().view(), automatic());
    CHECK(r.features == "word_vectors");
    CHECK(r.features_note.empty());
    CHECK_FALSE(r.degraded);
    const auto groups = groups_of(r);
    CHECK(groups.at("ann") == std::set<std::string>{"ann", "bob", "cat"});
    CHECK(groups.at("dan") == std::set<std::string>{"dan"});
    CHECK(r.served_by.count("coe.embed_words") == 1);
}

TEST_CASE("without a word-vector file: TF-IDF, and the report says why; asking for word vectors is an error") {
    const Engine plain(coe::test::isolated_options({coe::test::backend_plugin_dir()}));
    const Report r = plain.analyze(three_agree_one_dissents().view(), automatic());
    CHECK(r.features == "tfidf");
    CHECK(r.features_note.find("no word-vector file") != std::string::npos);
    CHECK_FALSE(r.degraded);
    AnalysisOptions o;
    o.feature_kind = FeatureKind::word_vectors;
    CHECK_THROWS_WITH_AS(plain.analyze(three_agree_one_dissents().view(), o),
                         doctest::Contains("features \"word_vectors\""), coe::Error);
    o.feature_kind = FeatureKind::tfidf;
    CHECK(vector_engine().analyze(three_agree_one_dissents().view(), o).features == "tfidf");
}

TEST_CASE("a corrupt word-vector file: automatic falls back to TF-IDF, degraded and saying why") {
    const fs::path good = synthetic_vectors(all_texts());
    const fs::path bad = good.parent_path() / "truncated.coewv";
    {
        std::ifstream in(good, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(bad, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    const Engine e(with_vectors(bad));
    const Report r = e.analyze(three_agree_one_dissents().view(), automatic());
    CHECK(r.features == "tfidf");
    CHECK(r.degraded);
    CHECK(r.features_note.find("truncated.coewv") != std::string::npos);
    REQUIRE_FALSE(r.events.empty());
    CHECK(r.events.back().find("TF-IDF was used") != std::string::npos);
    AnalysisOptions o;
    o.feature_kind = FeatureKind::word_vectors;
    CHECK_THROWS_AS(e.analyze(three_agree_one_dissents().view(), o), coe::Error);
}

TEST_CASE("embeddings keep precedence over word vectors; asking for embeddings without them is an error") {
    Panel p = three_agree_one_dissents();
    AnalysisOptions o;
    o.feature_kind = FeatureKind::embedding;
    CHECK_THROWS_WITH_AS(vector_engine().analyze(p.view(), o), doctest::Contains("responses[0].embedding"), coe::Error);
    for (std::size_t i = 0; i < p.responses.size(); ++i) p.responses[i].embedding = {i < 3 ? 1.0f : 0.0f, 0.5f};
    CHECK(vector_engine().analyze(p.view(), automatic()).features == "embedding");
}

TEST_CASE("the engine's default is automatic: word vectors when found; the API or the config file may say tfidf") {
    const Panel p = three_agree_one_dissents();
    const Report r = vector_engine().analyze(p.view());
    CHECK(r.features == "word_vectors");
    CHECK(r.features_note.empty());
    EngineOptions o = with_vectors(synthetic_vectors(all_texts()));
    o.features = FeatureKind::tfidf;
    CHECK(Engine(o).analyze(p.view()).features == "tfidf");
    const fs::path config = synthetic_vectors(all_texts()).parent_path() / "config.json";
    std::ofstream(config) << R"({"features": "tfidf"})";
    EngineOptions c = with_vectors(synthetic_vectors(all_texts()));
    c.config_file = config;
    CHECK(Engine(c).analyze(p.view()).features == "tfidf");
}

TEST_CASE("word vectors: permuting a panel's responses permutes the report and changes nothing else") {
    const auto panels = coe::test::mtbench_panels();
    std::mt19937 rng(5);
    for (auto centring : {WordVectorOptions::Centring::none, WordVectorOptions::Centring::common_direction,
                          WordVectorOptions::Centring::panel_mean}) {
        AnalysisOptions o = automatic();
        o.word_vectors.centring = centring;
        for (std::size_t k = 0; k < panels.size(); k += 10) {
            const Panel &p = panels[k];
            Panel shuffled = p;
            std::shuffle(shuffled.responses.begin(), shuffled.responses.end(), rng);
            const Report a = vector_engine().analyze(p.view(), o), b = vector_engine().analyze(shuffled.view(), o);
            CAPTURE(p.id);
            CAPTURE(static_cast<int>(centring));
            REQUIRE(a.features == "word_vectors");
            CHECK(a.consensus.score == b.consensus.score);
            CHECK(a.consensus.level == b.consensus.level);
            CHECK(a.confidence == b.confidence);
            CHECK(groups_of(a) == groups_of(b));
            for (const auto &e : a.experts) {
                const auto it = std::find_if(b.experts.begin(), b.experts.end(),
                                             [&](const ExpertResult &f) { return f.expert == e.expert; });
                REQUIRE(it != b.experts.end());
                CHECK(e.centrality == it->centrality);
                CHECK(e.outlier == it->outlier);
            }
        }
    }
}

namespace {

// The report as JSON without what may differ between backends by design:
// which backend ran and how long each stage took.
std::string backend_neutral_json(Report r) {
    r.backend.clear();
    r.served_by.clear();
    r.timing = {};
    return to_json(r);
}

}  // namespace

TEST_CASE("word vectors: every backend gives the scalar backend's report on the 80 MT-Bench panels, byte for byte") {
    const auto panels = coe::test::mtbench_panels();
    REQUIRE(panels.size() == 80);
    const fs::path file = synthetic_vectors(all_texts());
    const Engine scalar(with_vectors(file, "scalar"));
    std::vector<std::string> want;
    for (const Panel &p : panels) want.push_back(backend_neutral_json(scalar.analyze(p.view(), automatic())));
    std::size_t compared = 0;
    for (const BackendInfo &b : scalar.backends()) {
        if (b.name == "scalar") continue;
        if (b.status == BackendStatus::rejected) {
            MESSAGE("SKIPPED: backend " << b.name << " cannot run here: " << b.reason);
            continue;
        }
        // forced, and not judged by its speed: a loaded machine (or a CPU
        // Vulkan device) can make a backend slower than scalar, and the
        // demotion that follows is not what this test is about
        EngineOptions o = with_vectors(file, b.name);
        o.resilience.breaker.slower_than_reference_calls = 0;
        const Engine e(o);
        REQUIRE(e.active_backend() == b.name);
        for (std::size_t k = 0; k < panels.size(); ++k) {
            CAPTURE(b.name);
            CAPTURE(panels[k].id);
            const Report r = e.analyze(panels[k].view(), automatic());
            REQUIRE(r.features == "word_vectors");
            CHECK_FALSE(r.degraded);
            CHECK(backend_neutral_json(r) == want[k]);
        }
        ++compared;
    }
    MESSAGE(compared << " backends compared with scalar");
}

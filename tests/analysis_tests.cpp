// The consensus pipeline: hand-checkable panels, aggregation, properties of
// the confidence, permutation invariance, batch and asynchronous use.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <boost/asio/use_future.hpp>

#include "coe/engine.hpp"
#include "coe/engine_async.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"
#include "test_support.hpp"

using namespace coe;

namespace {

using coe::test::make_panel;

const Engine &engine() {
    static Engine e(coe::test::isolated_options({coe::test::backend_plugin_dir()}));
    return e;
}

// Three experts agree (hash passwords with a slow salted algorithm), one
// talks about something else entirely.
Panel three_agree_one_dissents() {
    return make_panel({
        {"ann",
         "Hash every password with bcrypt or argon2 using a unique random salt per user. Never store "
         "plain text passwords; a slow salted hash makes brute force expensive."},
        {"bob",
         "Store only a salted slow hash: argon2id or bcrypt with a per-user random salt. Plain text or fast "
         "hashes like MD5 make brute force cheap."},
        {"cat",
         "Use argon2 or bcrypt, a slow password hash with a random salt for each user, and never keep the "
         "plain text password."},
        {"dan",
         "Migrate the frontend to a single page application framework and cache static assets on a CDN "
         "to cut page load times."},
    });
}

const ClusterResult &cluster_of(const Report &r, const std::string &expert) {
    for (const auto &e : r.experts)
        if (e.expert == expert) return r.clusters.at(e.cluster);
    FAIL("no expert " << expert);
    throw std::logic_error("unreachable");
}

const ExpertResult &expert(const Report &r, const std::string &name) {
    for (const auto &e : r.experts)
        if (e.expert == name) return e;
    FAIL("no expert " << name);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("three experts agree, one dissents: the dissenter is the outlier and the majority is right") {
    const Panel p = three_agree_one_dissents();
    const Report r = engine().analyze(p.view());
    const auto &majority = r.clusters.at(r.consensus.majority_cluster);
    CHECK(majority.members == std::vector<std::string>{"ann", "bob", "cat"});
    CHECK(cluster_of(r, "dan").members == std::vector<std::string>{"dan"});
    CHECK(r.consensus.majority_share == doctest::Approx(0.75));
    CHECK(r.consensus.level == ConsensusLevel::strong);
    CHECK(expert(r, "dan").outlier);
    CHECK_FALSE(expert(r, "ann").outlier);
    CHECK_FALSE(expert(r, "bob").outlier);
    CHECK_FALSE(expert(r, "cat").outlier);
    CHECK(r.consensus.medoid != "dan");
    CHECK(majority.representative != "dan");
    REQUIRE(r.dissent.size() == 1);
    CHECK(r.dissent[0].members == std::vector<std::string>{"dan"});
    CHECK(r.dissent[0].excerpt.rfind("Migrate the frontend", 0) == 0);
    // confidence = majority weight / (total weight + prior) = 3 / (4 + 1)
    CHECK(r.confidence == doctest::Approx(0.6));
    CHECK(r.features == "tfidf");
    CHECK(r.served_by.at("coe.cluster") == r.backend);
}

TEST_CASE("stated confidences weigh experts") {
    Panel p = three_agree_one_dissents();
    p.responses[0].confidence = 0.5;
    p.responses[3].confidence = 1.0;
    const Report r = engine().analyze(p.view());
    // majority weight 0.5 + 1 + 1 of 3.5
    CHECK(r.consensus.majority_share == doctest::Approx(2.5 / 3.5));
    CHECK(r.confidence == doctest::Approx(2.5 / 4.5));
    CHECK(expert(r, "ann").weight == doctest::Approx(0.5));
}

TEST_CASE("levels: unanimous, split and none") {
    const Report unanimous = engine().analyze(
        make_panel(
            {{"a", "use argon2 with a salt"}, {"b", "use argon2 with a random salt"}, {"c", "argon2 with a salt"}})
            .view());
    CHECK(unanimous.consensus.level == ConsensusLevel::unanimous);
    CHECK(unanimous.clusters.size() == 1);
    CHECK(unanimous.dissent.empty());

    const Report split = engine().analyze(make_panel({{"a", "use argon2 with a salt"},
                                                      {"b", "use argon2 with a random salt"},
                                                      {"c", "deploy on kubernetes clusters"},
                                                      {"d", "deploy kubernetes clusters"}})
                                              .view());
    CHECK(split.consensus.level == ConsensusLevel::split);
    CHECK(split.consensus.margin == doctest::Approx(0.0));
    CHECK(split.consensus.entropy == doctest::Approx(std::log(2.0) / std::log(4.0)));

    const Report none = engine().analyze(make_panel({{"a", "apples"}, {"b", "kubernetes"}, {"c", "violin"}}).view());
    CHECK(none.consensus.level == ConsensusLevel::none);
    CHECK(none.clusters.size() == 3);

    const Report single = engine().analyze(make_panel({{"solo", "only one voice"}}).view());
    CHECK(single.consensus.level == ConsensusLevel::none);
    CHECK(single.experts.size() == 1);
    CHECK(single.consensus.score == doctest::Approx(1.0));
}

TEST_CASE("a lone expert with most of the weight is no consensus") {
    Panel p = make_panel({{"a", "apples grow on trees in orchards"},
                          {"b", "kubernetes schedules containers on nodes"},
                          {"c", "kubernetes schedules containers across nodes"}});
    p.responses[0].confidence = 1.0;
    p.responses[1].confidence = 0.0;  // floored at min_weight
    p.responses[2].confidence = 0.0;
    const Report r = engine().analyze(p.view());
    CHECK(r.clusters.at(r.consensus.majority_cluster).members == std::vector<std::string>{"a"});
    CHECK(r.consensus.level == ConsensusLevel::split);
}

TEST_CASE("recommendations: explicit lists, near-duplicates merged, quorum decides consensus") {
    Panel p = three_agree_one_dissents();
    p.responses[0].recommendations = std::vector<std::string>{"Use argon2id for password hashing", "Rotate keys"};
    p.responses[1].recommendations = std::vector<std::string>{"use Argon2id hashing for passwords"};
    p.responses[2].recommendations =
        std::vector<std::string>{"Hash passwords with argon2id", "Use argon2id for password hashing"};
    p.responses[3].recommendations = std::vector<std::string>{"Adopt a CDN"};
    p.responses[0].limitations = std::vector<std::string>{"argon2 needs memory tuning"};
    const Report r = engine().analyze(p.view());
    REQUIRE(r.quorum == 3);
    REQUIRE(r.recommendations.size() == 3);
    const ItemResult &top = r.recommendations[0];
    CHECK(top.support == 3);  // cat's two wordings count once
    CHECK(top.supporters == std::vector<std::string>{"ann", "bob", "cat"});
    CHECK(top.consensus);
    CHECK(top.score == doctest::Approx(0.75));
    CHECK(top.confidence == doctest::Approx(0.6));
    CHECK(top.variants.size() == 3);
    for (std::size_t i = 1; i < r.recommendations.size(); ++i) {
        CHECK(r.recommendations[i].support == 1);
        CHECK_FALSE(r.recommendations[i].consensus);
    }
    REQUIRE(r.limitations.size() == 1);
    CHECK(r.limitations[0].text == "argon2 needs memory tuning");
    // bob and dan gave no limitations list: their markdown had none either
    CHECK(r.limitations[0].supporters == std::vector<std::string>{"ann"});
}

TEST_CASE("recommendations are extracted from markdown when no list is given") {
    Panel p = make_panel({
        {"a", "Advice:\n1. Hash with argon2id and a salt\n2. Enforce MFA\n\n## Limitations\n- Argon2 costs memory"},
        {"b", "- Enforce MFA for every account\n- Hash with argon2id and a random salt"},
        {"c", "* hash with argon2id and per-user salt\n\n**Caveats:**\n* argon2 costs memory on small servers"},
    });
    const Report r = engine().analyze(p.view());
    REQUIRE_FALSE(r.recommendations.empty());
    CHECK(r.recommendations[0].support == 3);
    CHECK(r.recommendations[0].consensus);
    REQUIRE(r.limitations.size() == 1);
    CHECK(r.limitations[0].support == 2);
}

TEST_CASE("embeddings replace text features when every response has one") {
    Panel p = three_agree_one_dissents();
    const std::vector<std::vector<float>> vectors = {{1, 0.1f, 0}, {0.9f, 0.2f, 0}, {1, 0, 0.1f}, {0, 0, 1}};
    for (std::size_t i = 0; i < 4; ++i) p.responses[i].embedding = vectors[i];
    const Report r = engine().analyze(p.view());
    CHECK(r.features == "embedding");
    CHECK(cluster_of(r, "dan").members == std::vector<std::string>{"dan"});
    AnalysisOptions text_only;
    text_only.use_embeddings = false;
    CHECK(engine().analyze(p.view(), text_only).features == "tfidf");
}

TEST_CASE("invalid panels are refused with the field named") {
    Panel empty;
    CHECK_THROWS_WITH_AS(engine().analyze(empty.view()), doctest::Contains("responses"), coe::Error);
    Panel dup = three_agree_one_dissents();
    dup.responses[2].expert = "ann";
    CHECK_THROWS_WITH_AS(engine().analyze(dup.view()), doctest::Contains("responses[2].expert"), coe::Error);
    Panel conf = three_agree_one_dissents();
    conf.responses[1].confidence = 1.5;
    CHECK_THROWS_WITH_AS(engine().analyze(conf.view()), doctest::Contains("responses[1].confidence"), coe::Error);
}

// With embeddings each expert's vector is its own, so adding an expert leaves
// the others' similarities untouched and the property follows from the
// formula: majority weight / (total weight + prior).
TEST_CASE("confidence: an agreeing expert never lowers it, a contradicting one never raises it (embeddings)") {
    std::mt19937 rng(2024);
    std::normal_distribution<float> noise(0.f, 0.15f);
    const std::size_t dim = 16;
    auto around = [&](std::size_t axis) {
        std::vector<float> v(dim);
        for (auto &x : v) x = noise(rng);
        v[axis] += 1.f;
        return v;
    };
    for (int round = 0; round < 50; ++round) {
        Panel p;
        const std::size_t n = 4 + rng() % 12;
        for (std::size_t i = 0; i < n; ++i) {
            // most experts near axis 0, the rest scattered over axes 1..3
            const std::size_t axis = (rng() % 3 == 0) ? 1 + rng() % 3 : 0;
            p.responses.push_back({"e" + std::to_string(i), "text", std::uniform_real_distribution<double>(0, 1)(rng),
                                   std::nullopt, std::nullopt, around(axis)});
        }
        const Report before = engine().analyze(p.view());
        const auto &majority = before.clusters[before.consensus.majority_cluster];
        // the agreeing expert repeats the majority's core: the member closest
        // to the other members (the report's representative is the member
        // closest to the whole panel, which may sit near another cluster)
        auto cosine = [&](std::uint32_t i, std::uint32_t j) {
            const auto &a = p.responses[i].embedding, &b = p.responses[j].embedding;
            double ab = 0, aa = 0, bb = 0;
            for (std::size_t d = 0; d < dim; ++d) {
                ab += a[d] * b[d];
                aa += a[d] * a[d];
                bb += b[d] * b[d];
            }
            return ab / std::sqrt(aa * bb);
        };
        std::uint32_t core = majority.member_indices.front();
        double best = -2;
        for (std::uint32_t i : majority.member_indices) {
            double sum = 0;
            for (std::uint32_t j : majority.member_indices)
                if (j != i) sum += cosine(i, j);
            if (sum > best) {
                best = sum;
                core = i;
            }
        }
        for (double stated : {0.0, 0.5, 1.0}) {
            Panel agree = p;
            agree.responses.push_back(p.responses[core]);
            agree.responses.back().expert = "agreeing";
            agree.responses.back().confidence = stated;
            CHECK(engine().analyze(agree.view()).confidence >= before.confidence);

            Panel contra = p;
            std::vector<float> elsewhere(dim, 0.f);
            elsewhere[dim - 1] = 1.f;
            contra.responses.push_back({"contradicting", "text", stated, std::nullopt, std::nullopt, elsewhere});
            CHECK(engine().analyze(contra.view()).confidence <= before.confidence);
        }
    }
}

TEST_CASE("permuting a panel's responses permutes the report and changes nothing else") {
    const auto panels = coe::test::mtbench_panels();
    std::mt19937 rng(99);
    for (std::size_t k = 0; k < panels.size(); k += 8) {
        const Panel &p = panels[k];
        Panel shuffled = p;
        std::shuffle(shuffled.responses.begin(), shuffled.responses.end(), rng);
        const Report a = engine().analyze(p.view()), b = engine().analyze(shuffled.view());
        CAPTURE(p.id);
        CHECK(a.consensus.score == doctest::Approx(b.consensus.score).epsilon(1e-5));
        CHECK(a.consensus.level == b.consensus.level);
        // experts with identical features tie; the tie goes to input order
        CHECK(expert(b, a.consensus.medoid).centrality == expert(b, b.consensus.medoid).centrality);
        CHECK(a.confidence == doctest::Approx(b.confidence).epsilon(1e-5));
        std::map<std::string, std::set<std::string>> group_a, group_b;  // expert -> fellow members
        for (const auto &c : a.clusters)
            for (const auto &m : c.members) group_a[m] = {c.members.begin(), c.members.end()};
        for (const auto &c : b.clusters)
            for (const auto &m : c.members) group_b[m] = {c.members.begin(), c.members.end()};
        CHECK(group_a == group_b);
        for (const auto &e : a.experts) {
            const auto &f = expert(b, e.expert);
            CHECK(e.centrality == doctest::Approx(f.centrality).epsilon(1e-5));
            CHECK(e.outlier == f.outlier);
        }
        std::multiset<std::pair<std::uint32_t, std::set<std::string>>> recs_a, recs_b;
        for (const auto &r : a.recommendations) recs_a.insert({r.support, {r.supporters.begin(), r.supporters.end()}});
        for (const auto &r : b.recommendations) recs_b.insert({r.support, {r.supporters.begin(), r.supporters.end()}});
        CHECK(recs_a == recs_b);
    }
}

TEST_CASE("batch: input order, one bad panel does not stop the others, threads do not change results") {
    auto panels = coe::test::mtbench_panels();
    panels.resize(12);
    panels[5].responses[3].expert = panels[5].responses[1].expert;  // duplicate name
    std::vector<PanelView> views;
    for (const auto &p : panels) views.push_back(p.view());
    std::size_t calls = 0;
    const auto one = engine().analyze_batch(views, {}, 1, [&](std::size_t done, std::size_t total) {
        ++calls;
        CHECK(done <= total);
    });
    const auto two = engine().analyze_batch(views, {}, 2);
    CHECK(calls == panels.size());
    REQUIRE(one.size() == panels.size());
    for (std::size_t i = 0; i < panels.size(); ++i) {
        if (i == 5) {
            CHECK_FALSE(one[i].report.has_value());
            CHECK(one[i].error.find("responses[3].expert") != std::string::npos);
            continue;
        }
        REQUIRE(one[i].report.has_value());
        REQUIRE(two[i].report.has_value());
        CHECK(one[i].report->panel_id == panels[i].id);
        CHECK(one[i].report->confidence == two[i].report->confidence);
        CHECK(one[i].report->clusters.size() == two[i].report->clusters.size());
    }
}

TEST_CASE("asynchronous analysis on an Asio executor") {
    const Panel p = three_agree_one_dissents();
    boost::asio::thread_pool pool(2);
    std::future<Report> f = analyze_async(engine(), pool.get_executor(), p.view(), {}, boost::asio::use_future);
    const Report r = f.get();
    CHECK(r.clusters.at(r.consensus.majority_cluster).members.size() == 3);

    Panel bad;
    std::future<Report> g = analyze_async(engine(), pool.get_executor(), bad.view(), {}, boost::asio::use_future);
    CHECK_THROWS_AS(g.get(), coe::Error);
    pool.join();
}

TEST_CASE("the JSON report has the documented fields") {
    const Report r = engine().analyze(three_agree_one_dissents().view());
    const auto doc = boost::json::parse(to_json(r));
    for (const char *key :
         {"backend", "consensus", "clusters", "experts", "recommendations", "confidence", "timing_ms"})
        CHECK_MESSAGE(doc.as_object().contains(key), key);
    CHECK(doc.at("consensus").at("level") == "strong");
    CHECK(doc.at("clusters").as_array().at(0).as_object().contains("representative"));
    CHECK(doc.at("experts").as_array().at(3).at("outlier") == true);
    CHECK(to_text(r).find("Consensus: strong") != std::string::npos);
}

TEST_CASE(
    "limits: too many experts or too long texts are refused by name before any work; lists in the output are capped") {
    Engine engine(coe::test::isolated_options({}));
    std::vector<std::string> names, texts;
    for (int i = 0; i < 1100; ++i) {
        names.push_back("e" + std::to_string(i));
        texts.push_back("add a cache for reads, variant " + std::to_string(i % 7));
    }
    auto response = [](std::string_view expert, std::string_view content) {
        ResponseView r;
        r.expert = expert;
        r.content = content;
        return r;
    };
    PanelView big;
    for (std::size_t i = 0; i < names.size(); ++i) big.responses.push_back(response(names[i], texts[i]));
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH_AS(engine.analyze(big), doctest::Contains("responses: 1100 experts exceed the limit of 1024"),
                         coe::Error);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
    AnalysisOptions wide;
    wide.max_experts = 2000;
    CHECK_NOTHROW(engine.analyze(big, wide));

    const std::string long_text(2u << 20, 'a');
    PanelView one;
    one.responses.push_back(response("a", long_text));
    CHECK_THROWS_WITH_AS(engine.analyze(one), doctest::Contains("responses[0].content: 2097152 bytes exceed the limit"),
                         coe::Error);

    // 40 experts who all state the same recommendation: 16 names listed, the count of the rest
    std::vector<std::string> recs(40, "- Use a cache for the reads");
    PanelView same;
    for (std::size_t i = 0; i < 40; ++i) same.responses.push_back(response(names[i], recs[i]));
    const auto doc = boost::json::parse(to_json(engine.analyze(same)));
    const auto &item = doc.at("recommendations").at(0);
    CHECK(item.at("support") == 40);
    CHECK(item.at("supporters").as_array().size() == 16);
    CHECK(item.at("supporters_omitted") == 24);
}

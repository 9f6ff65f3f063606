// test_support.hpp - paths and corpus readers shared by the test programs.
#pragma once

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include <sstream>

#include <sys/wait.h>

#include <cstdio>

#include "coe/coe_plugin.h"
#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"

namespace coe::test {

// One coe.featurize call over `texts`, made by `invoke(args)` (a plugin's
// operation or a kernel), into buffers with room for the most entries the
// texts can need; returns the rows it wrote.
template <class Invoke>
SparseRows featurize_rows(const std::vector<std::string> &texts, std::uint32_t flags, std::uint32_t bits,
                          Invoke &&invoke) {
    std::vector<const char *> ptrs;
    std::vector<std::uint64_t> lengths;
    std::uint64_t capacity = texts.size();
    for (const auto &t : texts) {
        ptrs.push_back(t.data());
        lengths.push_back(t.size());
        capacity += t.size();
    }
    SparseRows r;
    r.dimension = 1u << bits;
    r.row_offsets.resize(texts.size() + 1);
    r.indices.resize(capacity);
    r.values.resize(capacity);
    coe_featurize_args a{};
    a.struct_size = sizeof a;
    a.text_count = static_cast<std::uint32_t>(texts.size());
    a.texts = ptrs.data();
    a.text_lengths = lengths.data();
    a.bucket_bits = bits;
    a.flags = flags;
    a.entry_capacity = capacity;
    a.row_offsets = r.row_offsets.data();
    a.indices = r.indices.data();
    a.values = r.values.data();
    invoke(a);
    r.indices.resize(a.entry_count);
    r.values.resize(a.entry_count);
    return r;
}

// Set by tests/CMakeLists.txt.
inline std::filesystem::path backend_plugin_dir() { return COE_TEST_BACKEND_PLUGIN_DIR; }
inline std::filesystem::path test_plugin_dir() { return COE_TEST_PLUGIN_DIR; }
inline std::filesystem::path shared_data_dir() { return COE_TEST_SHARED_DATA_DIR; }
inline std::filesystem::path coe_tool() { return COE_TEST_COE_TOOL; }

inline std::filesystem::path test_plugin(const std::string &name) { return test_plugin_dir() / name / (name + ".so"); }

// An engine that sees only the given plugin paths (no environment, no
// default locations), optionally forced to one backend.
// A panel on storing user passwords with the given (expert, answer) pairs.
inline Panel make_panel(std::vector<std::pair<std::string, std::string>> responses) {
    Panel p;
    p.id = "hand";
    p.question = "How should a web service store user passwords?";
    for (auto &[name, text] : responses)
        p.responses.push_back({name, text, std::nullopt, std::nullopt, std::nullopt, {}});
    return p;
}

// coe.embed_words/1's arguments for `count` texts whose pointers and lengths
// are `texts` and `lengths`, rows of `stride` floats into `vectors`.
inline coe_embed_words_args embed_words_args(std::size_t count, const char *const *texts, const std::uint64_t *lengths,
                                             const coe_word_table &table, std::uint64_t stride, float *vectors,
                                             std::uint32_t *known_words) {
    coe_embed_words_args a{};
    a.struct_size = sizeof a;
    a.text_count = static_cast<std::uint32_t>(count);
    a.texts = texts;
    a.text_lengths = lengths;
    a.table = &table;
    a.vector_stride = stride;
    a.vectors = vectors;
    a.known_words = known_words;
    return a;
}

// Plugins run in this process (tests of isolation in a worker process set
// plugin_isolation themselves: isolation_tests.cpp).
inline EngineOptions isolated_options(std::vector<std::filesystem::path> paths, std::string backend = {}) {
    EngineOptions o;
    o.plugin_paths = std::move(paths);
    o.backend = std::move(backend);
    o.use_environment = false;
    o.use_default_locations = false;
    o.plugin_isolation.mode = PluginIsolation::in_process;
    return o;
}

// Every response text of every panel of mtbench-panels.jsonl, by panel.
inline std::vector<std::vector<std::string>> mtbench_panel_texts() {
    const auto file = shared_data_dir() / "mtbench-panels.jsonl";
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot open corpus " + file.string());
    std::vector<std::vector<std::string>> panels;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto doc = boost::json::parse(line);
        std::vector<std::string> texts;
        for (const auto &r : doc.at("responses").as_array()) texts.emplace_back(r.at("content").as_string());
        panels.push_back(std::move(texts));
    }
    return panels;
}

// The MT-Bench panels as parsed by the engine, optionally only the first
// `count` of them, each cut to its first `experts` responses.
inline std::vector<Panel> mtbench_panels(std::size_t count = SIZE_MAX, std::size_t experts = SIZE_MAX) {
    std::ifstream in(shared_data_dir() / "mtbench-panels.jsonl");
    if (!in) throw std::runtime_error("cannot open the MT-Bench corpus in " + shared_data_dir().string());
    std::stringstream text;
    text << in.rdbuf();
    std::vector<Panel> panels;
    for (auto &line : parse_panel_lines(text.str(), "mtbench-panels.jsonl")) {
        if (panels.size() == count) break;
        panels.push_back(std::get<Panel>(std::move(line.panel_or_error)));
        if (panels.back().responses.size() > experts) panels.back().responses.resize(experts);
    }
    return panels;
}

// A report as JSON without what legitimately differs between backends and
// runs (serving backend, degradation, events, timings).
inline std::string report_essence(Report r) {
    r.backend.clear();
    r.served_by.clear();
    r.degraded = false;
    r.events.clear();
    r.timing = {};
    return to_json(r);
}

// True if `file` is mapped into this process (i.e. was loaded).
inline bool is_mapped(const std::filesystem::path &file) {
    std::ifstream maps("/proc/self/maps");
    const std::string name = std::filesystem::absolute(file).lexically_normal().string();
    std::string line;
    while (std::getline(maps, line))
        if (line.find(name) != std::string::npos) return true;
    return false;
}

inline bool contains(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

// The failures of class `cls` (e.g. "non_finite") that `e`'s performance
// report counts for (backend, operation).
inline std::int64_t failures_of(const Engine &e, const std::string &backend, const std::string &op, const char *cls) {
    const auto doc = boost::json::parse(e.performance_report());
    for (const auto &o : doc.at("operations").as_array())
        if (o.at("backend") == backend.c_str() && o.at("operation") == op.c_str()) {
            const auto &by_class = o.at("failures_by_class").as_object();
            return by_class.contains(cls) ? by_class.at(cls).as_int64() : 0;
        }
    return 0;
}

// The candidate whose file path contains `file_part` (a copy: backends() is a snapshot).
inline BackendInfo backend_with_file(const Engine &e, const std::string &file_part) {
    for (const auto &b : e.backends())
        if (b.file.find(file_part) != std::string::npos) return b;
    throw std::runtime_error("no candidate whose file contains " + file_part);
}

inline std::string read_text(const std::filesystem::path &file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The non-empty lines of `text`.
inline std::vector<std::string> lines_of(const std::string &text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) out.push_back(l);
    return out;
}

// A shell command's exit status (-1 if it did not exit) and standard output.
struct CommandResult {
    int status;
    std::string out;
};
inline CommandResult run_command(const std::string &command) {
    FILE *p = ::popen(command.c_str(), "r");
    if (p == nullptr) throw std::runtime_error("cannot run " + command);
    std::string out;
    char buf[65536];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    const int rc = ::pclose(p);
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

}  // namespace coe::test

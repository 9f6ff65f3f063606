// test_support.hpp - paths and corpus readers shared by the test programs.
#pragma once

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "coe/engine.hpp"

namespace coe::test {

// Set by tests/CMakeLists.txt.
inline std::filesystem::path backend_plugin_dir() { return COE_TEST_BACKEND_PLUGIN_DIR; }
inline std::filesystem::path test_plugin_dir() { return COE_TEST_PLUGIN_DIR; }
inline std::filesystem::path shared_data_dir() { return COE_TEST_SHARED_DATA_DIR; }
inline std::filesystem::path coe_tool() { return COE_TEST_COE_TOOL; }

inline std::filesystem::path test_plugin(const std::string &name) {
    return test_plugin_dir() / name / (name + ".so");
}

// An engine that sees only the given plugin paths (no environment, no
// default locations), optionally forced to one backend.
inline EngineOptions isolated_options(std::vector<std::filesystem::path> paths, std::string backend = {}) {
    EngineOptions o;
    o.plugin_paths = std::move(paths);
    o.backend = std::move(backend);
    o.use_environment = false;
    o.use_default_locations = false;
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
        for (const auto &r : doc.at("responses").as_array())
            texts.emplace_back(r.at("content").as_string());
        panels.push_back(std::move(texts));
    }
    return panels;
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

}  // namespace coe::test

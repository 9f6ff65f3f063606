#include "plugin_probe.hpp"

#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <sstream>
#include <system_error>
#include <variant>

#include "elf_manifest.hpp"
#include "plugin_discovery.hpp"
#include "plugin_loader.hpp"
#include "verdict_cache.hpp"

namespace coe::detail {
namespace {

constexpr const char *helper_name = "coe-plugin-probe";

bool is_executable(const std::filesystem::path &p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

bool has_line(const ChildOutcome &o, const std::string &line) {
    for (const auto &l : o.lines)
        if (l == line) return true;
    return false;
}

// The text after "<prefix> " of the first line that starts so, or nullptr.
const std::string *line_after(const ChildOutcome &o, const std::string &prefix, std::string &rest) {
    for (const auto &l : o.lines)
        if (l.rfind(prefix + " ", 0) == 0) {
            rest = l.substr(prefix.size() + 1);
            return &l;
        }
    return nullptr;
}

}  // namespace

std::string phase_in_words(const std::string &phase) {
    if (phase.empty()) return "before loading the plugin";
    if (phase == "load") return "during load";
    if (phase == "entry") return "in its entry point";
    return "in " + phase;
}

PluginProber::PluginProber(PluginProbeOptions options) : options_(std::move(options)) {
    if (options_.mode == PluginProbeMode::off) return;
    std::vector<std::filesystem::path> tried;
    if (!options_.executable.empty()) tried.push_back(options_.executable);  // named: that one or none
    else
        for (const auto &[folder, source] : default_plugin_folders())
            tried.push_back(folder.parent_path() / helper_name);
    for (const auto &p : tried)
        if (is_executable(p)) {
            helper_ = p;
            return;
        }
    helper_problem_ = std::string("the helper ") + helper_name + " was not found (looked at";
    for (const auto &p : tried) helper_problem_ += " " + p.string();
    helper_problem_ += tried.empty() ? " nothing)" : ")";
}

ChildOutcome PluginProber::run(const std::vector<std::string> &args) const {
    return run_probe_child(helper_, args, options_.timeout);
}

std::optional<ProbeVerdict> PluginProber::probe(const std::filesystem::path &load_from, std::string &error) const {
    const ChildOutcome o = run({"probe", load_from.string()});
    if (o.end == ChildOutcome::End::not_started) {  // the helper failed, not the plugin
        error = o.error;
        return std::nullopt;
    }
    ProbeVerdict v;
    std::string rest;
    if (o.end == ChildOutcome::End::exited && o.code == 0 && has_line(o, "ok")) {
        v.note = "passed a probe in a child process (load, entry point, a smoke call of each operation)";
        return v;
    }
    v.admitted = false;
    if (line_after(o, "reject", rest)) v.reason = rest;
    else if (line_after(o, "fail", rest)) v.reason = "failed its smoke call " + phase_in_words(o.phase) + ": " + rest;
    else v.reason = describe_end(o, options_.timeout) + " " + phase_in_words(o.phase);
    v.note = "rejected by a probe in a child process";
    return v;
}

ProbeVerdict PluginProber::admit(const std::filesystem::path &file, const std::filesystem::path &load_from) const {
    if (options_.mode == PluginProbeMode::off) return {true, {}, "not probed (probing is off)"};
    if (helper_.empty()) {
        if (options_.mode == PluginProbeMode::required)
            return {false, "cannot be probed before loading: " + helper_problem_, "not probed"};
        return {true, {}, "loaded without a probe: " + helper_problem_};
    }
    std::error_code ec;
    const std::string key = std::filesystem::weakly_canonical(file, ec).string() + "|" + file_identity(file) + "|" +
                            file_identity(helper_) + "|" COE_VERSION;
    ProbeVerdict v;
    if (VerdictCache::instance().find(key, options_.disk_cache, v)) {
        v.note += " (cached verdict for this file version)";
        return v;
    }
    std::string error;
    const std::optional<ProbeVerdict> probed = probe(load_from, error);
    if (!probed) {
        if (options_.mode == PluginProbeMode::required)
            return {false, "cannot be probed before loading: " + error, "not probed"};
        return {true, {}, "loaded without a probe: " + error};
    }
    VerdictCache::instance().store(key, *probed, options_.disk_cache);
    return *probed;
}

BackendInfo PluginProber::describe(const std::filesystem::path &file) const {
    BackendInfo info;
    const ChildOutcome o = run({"describe", file.string()});
    std::string rest;
    for (const auto &l : o.lines) {
        const auto eq = l.find('=');
        if (l.rfind("info ", 0) != 0 || eq == std::string::npos) continue;
        const std::string key = l.substr(5, eq - 5), value = l.substr(eq + 1);
        if (key == "name") info.name = value;
        else if (key == "id") info.id = value;
        else if (key == "version") info.version = value;
        else if (key == "abi") info.abi = value;
        else if (key == "features") info.required_features = std::strtoull(value.c_str(), nullptr, 10);
        else if (key == "score") info.score = std::atoi(value.c_str());
        else if (key == "ops") {
            std::istringstream ops(value);
            for (std::string op; ops >> op;) info.operations.push_back(op);
        }
    }
    if (o.end == ChildOutcome::End::exited && o.code == 0 && has_line(o, "ok")) {
        info.status = BackendStatus::available;
        return info;
    }
    if (info.name.empty()) {  // it ended before describing itself: its manifest is read without running it
        auto manifest = read_plugin_manifest(file);
        if (auto *m = std::get_if<coe_plugin_manifest>(&manifest)) describe_manifest(info, *m);
    }
    info.status = BackendStatus::rejected;
    info.score = 0;
    info.reason =
        line_after(o, "reject", rest) ? rest : describe_end(o, options_.timeout) + " " + phase_in_words(o.phase);
    return info;
}

OperationCheck PluginProber::check_operation(const std::filesystem::path &file, const std::string &operation) const {
    OperationCheck c;
    c.operation = operation;
    c.provided = true;
    const ChildOutcome o = run({"check", file.string(), operation});
    std::string rest;
    if (line_after(o, "pass", rest) && o.end == ChildOutcome::End::exited && o.code == 0) {
        c.passed = true;
        c.detail = rest;
    } else if (line_after(o, "fail", rest) || line_after(o, "reject", rest)) {
        c.detail = rest;
    } else {
        c.detail = describe_end(o, options_.timeout) + " " + phase_in_words(o.phase);
    }
    return c;
}

}  // namespace coe::detail

// The conformance suite of `coe plugin check`: each operation in a child
// process of its own when the probe helper is there, in-process otherwise.
#include "coe/plugin_check.hpp"

#include "coe/cpu_features.hpp"
#include "plugin_loader.hpp"
#include "plugin_probe.hpp"
#include "plugin_suite.hpp"

namespace coe {

bool PluginCheck::passed() const {
    if (plugin.status == BackendStatus::rejected) return false;
    for (const auto &op : operations)
        if (op.provided && !op.passed) return false;
    return true;
}

namespace {

using detail::SuiteMode;

bool listed(const BackendInfo &info, const std::string &op) {
    for (const auto &o : info.operations)
        if (o == op) return true;
    return false;
}

void fill_identity(BackendInfo &info, const std::filesystem::path &file) {
    std::error_code ec;
    info.file = std::filesystem::absolute(file, ec).lexically_normal().string();
    info.source = "api";
}

}  // namespace

PluginCheck check_plugin(const std::filesystem::path &file, const PluginProbeOptions &options) {
    PluginCheck result;
    const detail::PluginProber prober(options);
    if (!prober.helper().empty()) {
        result.isolation = "each operation in a child process";
        result.plugin = prober.describe(file);
        fill_identity(result.plugin, file);
        if (result.plugin.status == BackendStatus::rejected) return result;
        for (const auto &op : detail::suite_operations()) {
            if (listed(result.plugin, op)) result.operations.push_back(prober.check_operation(file, op));
            else result.operations.push_back({op, false, false, "not provided"});
        }
        return result;
    }

    result.isolation = "in this process: " +
                       (options.mode == PluginProbeMode::off ? std::string("probing is off") : prober.helper_problem());
    detail::LoadOutcome loaded = detail::load_plugin({file, "api"}, probe_cpu_features(), {});
    result.plugin = loaded.info;
    if (!loaded.backend) return result;
    for (const auto &op : detail::suite_operations()) {
        if (!detail::provides(*loaded.backend, op)) {
            result.operations.push_back({op, false, false, "not provided"});
            continue;
        }
        OperationCheck c{op, true, false, detail::exercise_operation(*loaded.backend, op, SuiteMode::conform)};
        c.passed = c.detail.empty();
        if (c.passed) c.detail = detail::passed_detail(*loaded.backend, op);
        result.operations.push_back(std::move(c));
    }
    return result;
}

}  // namespace coe

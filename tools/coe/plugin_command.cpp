// `coe plugin check PATH [--timeout-ms N]`: one line per operation, PASS or
// FAIL; exit status 1 if the plugin is rejected or any operation it provides
// fails.  Each operation runs in a child process of its own (see
// coe/plugin_check.hpp), so a crash or a hang is reported, not suffered.
#include <iostream>

#include "cli_options.hpp"
#include "coe/cpu_features.hpp"
#include "coe/plugin_check.hpp"

namespace coe::cli {

int run_plugin_command(const CommandLine &cl) {
    const char *usage = "usage: coe plugin check PATH [--timeout-ms N]";
    if (cl.args.size() < 2 || cl.args[0] != "check") throw UsageError(usage);
    PluginProbeOptions probe = cl.engine.plugin_probe;
    for (std::size_t i = 2; i < cl.args.size(); ++i) {
        if (cl.args[i] != "--timeout-ms" || i + 1 == cl.args.size()) throw UsageError(usage);
        const std::string &value = cl.args[++i];
        std::size_t used = 0;
        long long ms = 0;
        try {
            ms = std::stoll(value, &used);
        } catch (const std::exception &) {}
        if (used != value.size() || ms < 1 || ms > 3600000)
            throw UsageError("--timeout-ms: '" + value + "' is not a number of milliseconds from 1 to 3600000");
        probe.timeout = std::chrono::milliseconds(ms);
    }
    const PluginCheck check = check_plugin(cl.args[1], probe);
    const BackendInfo &p = check.plugin;
    std::cout << "plugin " << (p.name.empty() ? "?" : p.name) << " (" << (p.id.empty() ? "?" : p.id) << " "
              << (p.version.empty() ? "?" : p.version) << ", abi " << (p.abi.empty() ? "?" : p.abi) << ") " << p.file
              << "\n"
              << "isolation: " << check.isolation << "\n";
    if (p.status == BackendStatus::rejected) {
        std::cout << "REJECTED " << p.reason << "\n";
        return 1;
    }
    for (const auto &op : check.operations) {
        if (!op.provided) std::cout << "SKIP " << op.operation << ": not provided (served by other backends)\n";
        else std::cout << (op.passed ? "PASS " : "FAIL ") << op.operation << ": " << op.detail << "\n";
    }
    std::cout << (check.passed() ? "plugin check passed\n" : "plugin check FAILED\n");
    return check.passed() ? 0 : 1;
}

}  // namespace coe::cli

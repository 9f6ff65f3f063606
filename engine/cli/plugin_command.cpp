// `coe plugin check PATH`: one line per operation, PASS or FAIL; exit status
// 1 if the plugin is rejected or any operation it provides fails.
#include <iostream>

#include "cli_options.hpp"
#include "coe/cpu_features.hpp"
#include "coe/plugin_check.hpp"

namespace coe::cli {

int run_plugin_command(const CommandLine &cl) {
    if (cl.args.size() != 2 || cl.args[0] != "check") throw UsageError("usage: coe plugin check PATH");
    const PluginCheck check = check_plugin(cl.args[1]);
    const BackendInfo &p = check.plugin;
    std::cout << "plugin " << (p.name.empty() ? "?" : p.name) << " (" << (p.id.empty() ? "?" : p.id) << " "
              << (p.version.empty() ? "?" : p.version) << ", abi " << (p.abi.empty() ? "?" : p.abi) << ") "
              << p.file << "\n";
    if (p.status == BackendStatus::rejected) {
        std::cout << "REJECTED " << p.reason << "\n";
        return 1;
    }
    for (const auto &op : check.operations) {
        if (!op.provided)
            std::cout << "SKIP " << op.operation << ": not provided (served by other backends)\n";
        else
            std::cout << (op.passed ? "PASS " : "FAIL ") << op.operation << ": " << op.detail << "\n";
    }
    std::cout << (check.passed() ? "plugin check passed\n" : "plugin check FAILED\n");
    return check.passed() ? 0 : 1;
}

}  // namespace coe::cli

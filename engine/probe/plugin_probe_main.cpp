// coe-plugin-probe: loads one plugin file in a process of its own and
// reports on file descriptor 3 how far it got (protocol: src/plugins/
// probe_child.hpp).  Started by the engine before it loads a plugin, and by
// `coe plugin check` for each operation; not meant to be run by hand.
//
//   coe-plugin-probe probe FILE      load, entry point, one smoke call of each
//                                    operation provided  -> ok | reject R | fail OP: WHY
//   coe-plugin-probe describe FILE   load and entry point -> info lines, ok | reject R
//   coe-plugin-probe check FILE OP   the conformance check of OP -> pass WHAT | fail WHY | reject R
#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "coe/cpu_features.hpp"
#include "plugins/plugin_loader.hpp"
#include "plugins/plugin_suite.hpp"

namespace {

std::FILE *report = nullptr;

void say(const std::string &line) {
    std::string clean = line;
    for (char &c : clean)
        if (c == '\n' || c == '\r') c = ' ';
    std::fprintf(report, "%s\n", clean.c_str());
    std::fflush(report);
}

void announce(const char *phase) { say(std::string("phase ") + phase); }

void describe(const coe::BackendInfo &info) {
    say("info name=" + info.name);
    say("info id=" + info.id);
    say("info version=" + info.version);
    say("info abi=" + info.abi);
    say("info features=" + std::to_string(info.required_features));
    say("info score=" + std::to_string(info.score));
    std::string ops;
    for (const auto &op : info.operations) ops += (ops.empty() ? "" : " ") + op;
    say("info ops=" + ops);
}

}  // namespace

int main(int argc, char **argv) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a hanging plugin never outlives the engine that asked
    report = ::fdopen(3, "w");
    if (report == nullptr) return 125;  // not started by the engine
    const std::string command = argc > 1 ? argv[1] : "";
    if (!((command == "probe" || command == "describe") && argc == 3) && !(command == "check" && argc == 4)) {
        say("reject usage: coe-plugin-probe probe|describe FILE, or check FILE OPERATION");
        return 2;
    }
    const coe::detail::LoadOutcome loaded =
        coe::detail::load_plugin({argv[2], "probe"}, coe::probe_cpu_features(), {}, nullptr, &announce);
    if (command == "describe") describe(loaded.info);
    if (!loaded.backend) {
        say("reject " + loaded.info.reason);
        return 0;
    }
    using coe::detail::SuiteMode;
    if (command == "check") {
        const std::string op = argv[3];
        if (!coe::detail::provides(*loaded.backend, op)) {
            say("fail not provided by this plugin");
            return 0;
        }
        announce(op.c_str());
        const std::string problem = coe::detail::exercise_operation(*loaded.backend, op, SuiteMode::conform);
        say(problem.empty() ? "pass " + coe::detail::passed_detail(*loaded.backend, op) : "fail " + problem);
        return 0;
    }
    if (command == "probe") {
        for (const auto &op : coe::detail::suite_operations()) {
            if (!coe::detail::provides(*loaded.backend, op)) continue;
            announce(op.c_str());
            const std::string problem = coe::detail::exercise_operation(*loaded.backend, op, SuiteMode::smoke);
            if (!problem.empty()) {
                say("fail " + problem);
                return 0;
            }
        }
    }
    say("ok");
    return 0;
}

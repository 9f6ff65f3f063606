// coe - the command-line face of the engine.  Parses, calls the public API,
// prints.  Exit status: 0 success, 1 failure, 2 usage error.
#include <cstring>
#include <iostream>

#include "cli_options.hpp"
#include "coe/cpu_features.hpp"
#include "coe/error.hpp"

namespace coe::cli {
namespace {

constexpr const char *usage = R"(usage: coe <command> [options]

commands:
  analyze [FILE|-] [--json|--text] [--threads N] [--cluster-threshold X]
          [--merge-threshold X] [--quorum N]
                        consensus report of each panel in FILE (one JSON panel,
                        or JSON Lines: one panel per line); without FILE, the
                        shipped example panel.  Text by default, --json gives
                        one JSON line per panel.  Exit 3 if some panels failed.
  backends [--json]     detected CPU features and every backend candidate

options for every command:
  --backend NAME        force a backend (name or id; "auto" = best available)
  --plugin-path PATH    search this plugin file or folder first (repeatable)
  --config FILE         JSON config file (default: $COE_CONFIG)
  --disable-cpu LIST    treat these CPU features as absent, e.g. avx512f
                        (to see what an older CPU would get)
  -h, --help            this text

environment: COE_BACKEND, COE_PLUGIN_PATH (colon-separated), COE_CONFIG
)";

std::vector<std::string> split_list(const std::string &s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        std::size_t end = s.find(',', start);
        if (end == std::string::npos) end = s.size();
        if (end > start) out.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

}  // namespace

CommandLine parse_command_line(int argc, char **argv) {
    CommandLine cl;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw Error("option " + a + " needs a value");
            return argv[++i];
        };
        if (a == "--backend") {
            cl.engine.backend = value();
        } else if (a == "--plugin-path") {
            cl.engine.plugin_paths.emplace_back(value());
        } else if (a == "--disable-cpu") {
            for (const auto &name : split_list(value())) {
                auto bit = cpu_feature_from_name(name);
                if (!bit) throw Error("--disable-cpu: unknown CPU feature '" + name + "'");
                cl.engine.mask_cpu_features |= *bit;
            }
        } else if (a == "--config") {
            cl.engine.config_file = value();
        } else if (cl.command.empty() && !a.empty() && a[0] != '-') {
            cl.command = a;
        } else {
            cl.args.push_back(a);
        }
    }
    return cl;
}

}  // namespace coe::cli

int main(int argc, char **argv) {
    using namespace coe::cli;
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
            std::cout << usage;
            return 0;
        }
    try {
        CommandLine cl = parse_command_line(argc, argv);
        if (cl.command == "backends") return run_backends_command(cl);
        if (cl.command == "analyze") return run_analyze_command(cl);
        std::cerr << (cl.command.empty() ? "coe: no command given\n" : "coe: unknown command '" + cl.command + "'\n")
                  << usage;
        return 2;
    } catch (const coe::Error &e) {
        std::cerr << "coe: " << e.what() << "\n";
        return 1;
    } catch (const std::exception &e) {
        std::cerr << "coe: unexpected error: " << e.what() << "\n";
        return 1;
    }
}

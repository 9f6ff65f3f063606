// `coe backends [--json]`: what the CPU offers and what became of each plugin.
#include <iomanip>
#include <iostream>

#include <boost/json.hpp>

#include "cli_options.hpp"
#include "coe/cpu_features.hpp"
#include "coe/json_text.hpp"

namespace coe::cli {
namespace {

boost::json::array to_json_strings(const std::vector<std::string> &v) {
    boost::json::array a;
    for (const auto &s : v) a.emplace_back(s);
    return a;
}

std::string join(const std::vector<std::string> &v) {
    std::string s;
    for (const auto &x : v) s += (s.empty() ? "" : " ") + x;
    return s.empty() ? "-" : s;
}

boost::json::value device_json(const BackendInfo &b) {
    if (!b.device) return nullptr;
    return boost::json::object{{"type", b.device->type},
                               {"name", b.device->name},
                               {"driver", b.device->driver},
                               {"memory_bytes", b.device->memory_bytes}};
}

void print_json(const Engine &engine) {
    boost::json::object root;
    root["cpu"] = boost::json::object{{"features", to_json_strings(cpu_feature_names(engine.cpu_features()))}};
    boost::json::array list;
    for (const auto &b : engine.backends()) {
        list.push_back(boost::json::object{
            {"name", b.name},
            {"id", b.id},
            {"version", b.version},
            {"file", b.file},
            {"source", b.source},
            {"abi", b.abi},
            {"required_features", to_json_strings(cpu_feature_names(b.required_features))},
            {"score", b.score},
            {"status", to_string(b.status)},
            {"reason", b.reason},
            {"ops", to_json_strings(b.operations)},
            {"probe", b.probe},
            {"isolation", b.isolation},
            {"worker_restarts", b.worker_restarts},
            {"device", device_json(b)},
        });
    }
    root["backends"] = std::move(list);
    root["active"] = engine.active_backend();
    std::cout << coe::json_text(root) << "\n";
}

void print_text(const Engine &engine) {
    std::cout << "cpu features: " << join(cpu_feature_names(engine.cpu_features())) << "\n\n";
    for (const auto &b : engine.backends()) {
        std::cout << std::left << std::setw(10) << to_string(b.status) << " " << std::setw(8)
                  << (b.name.empty() ? "?" : b.name) << " score " << std::setw(4) << b.score << b.file << "\n"
                  << std::string(11, ' ') << "version " << (b.version.empty() ? "-" : b.version) << ", abi "
                  << (b.abi.empty() ? "-" : b.abi) << ", from " << b.source << ", requires "
                  << join(cpu_feature_names(b.required_features))
                  << (b.isolation.empty()
                          ? ""
                          : ", runs " +
                                std::string(b.isolation == "process" ? "isolated in a worker process" : "in process"))
                  << "\n";
        if (!b.operations.empty()) std::cout << std::string(11, ' ') << "ops " << join(b.operations) << "\n";
        if (b.device)
            std::cout << std::string(11, ' ') << "device " << (b.device->name.empty() ? "?" : b.device->name) << ", "
                      << b.device->type << (b.device->driver.empty() ? "" : ", driver " + b.device->driver)
                      << (b.device->memory_bytes ? ", " + std::to_string(b.device->memory_bytes >> 20) + " MiB" : "")
                      << "\n";
        if (!b.reason.empty()) std::cout << std::string(11, ' ') << b.reason << "\n";
        if (!b.probe.empty()) std::cout << std::string(11, ' ') << "probe: " << b.probe << "\n";
    }
    std::cout << "\nactive: " << engine.active_backend() << "\n";
}

}  // namespace

int run_backends_command(const CommandLine &cl) {
    bool json = false;
    for (const auto &a : cl.args) {
        if (a == "--json") {
            json = true;
        } else {
            std::cerr << "coe backends: unknown argument '" << a << "'\n";
            return 2;
        }
    }
    EngineOptions options = cl.engine;
    options.load_device_backends = true;  // listing them: start each device to name it
    Engine engine(options);
    json ? print_json(engine) : print_text(engine);
    return 0;
}

}  // namespace coe::cli

// device_bench: the dense similarity matrix (coe.similarity/2, dense
// vectors) on the device backend beside the best CPU backend, call by call,
// over a sweep of sizes; and the break-even size from which the device is
// faster.  Wall-clock time per call through Engine::similarity (what a host
// gets: the transfers, the device's work and the host's share), median of
// several calls.
//
//   device_bench [--n 31,100,...] [--d 100,1024] [--device vulkan] [--cpu auto]
//                [--seconds 0.3] [--json FILE]
//
// Prints a Markdown table (the machine's CPU model and the device named) and
// writes the same numbers as JSON.  Sizes whose n x n float result would not
// fit one call (n * n >= 2^32) are listed as not measured, with the reason.
// Exits 77 (SKIPPED) when the device backend cannot run here.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "coe/engine.hpp"

namespace {

struct Options {
    std::vector<std::uint64_t> counts = {31, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 100000};
    std::vector<std::uint64_t> dims = {100, 1024};
    std::string device = "vulkan", cpu = "auto", json;
    double seconds = 0.3;  // per cell: calls are repeated until this much time has passed (at least 1, at most 25)
};

std::vector<std::uint64_t> parse_list(const std::string &flag, const std::string &text) {
    std::vector<std::uint64_t> out;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');) {
        char *end = nullptr;
        const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
        if (item.empty() || *end != 0 || v == 0) throw std::runtime_error(flag + ": '" + item + "' is not a count");
        out.push_back(v);
    }
    return out;
}

Options parse(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--n") o.counts = parse_list(a, value());
        else if (a == "--d") o.dims = parse_list(a, value());
        else if (a == "--device") o.device = value();
        else if (a == "--cpu") o.cpu = value();
        else if (a == "--seconds") o.seconds = std::stod(value());
        else if (a == "--json") o.json = value();
        else throw std::runtime_error("unknown argument " + a);
    }
    return o;
}

std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

std::shared_ptr<coe::Engine> engine_for(const std::string &backend) {
    coe::EngineOptions o;
    o.plugin_paths = {COE_BENCH_PLUGIN_DIR};
    o.use_environment = false;
    o.backend = backend == "auto" ? "" : backend;
    o.load_device_backends = true;  // to name the device
    // one backend measured: no shadow checks, no demotion of a slow one
    o.resilience.shadow_rate = 0;
    o.resilience.shadow_probation_calls = 0;  // else each of the first 64 calls also runs scalar
    o.resilience.breaker.mode = coe::BreakerMode::metrics_only;
    o.resilience.breaker.slow_call_duration_ms = 0;
    o.resilience.breaker.slower_than_reference_calls = 0;
    return std::make_shared<coe::Engine>(o);
}

// Median wall-clock milliseconds of one call.
double time_calls(const coe::Engine &e, const std::vector<float> &v, std::uint32_t n, std::uint64_t d, double seconds) {
    std::vector<double> ms;
    const auto start = std::chrono::steady_clock::now();
    (void)e.similarity(v.data(), n, d);  // warm-up: buffers, the device's pipelines
    while (
        ms.size() < 3 ||
        (ms.size() < 25 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds)) {
        const auto t0 = std::chrono::steady_clock::now();
        const coe::Matrix m = e.similarity(v.data(), n, d);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        if (m.rows != n) throw std::runtime_error("a result of the wrong shape");
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char **argv) try {
    const Options o = parse(argc, argv);
    const auto device = engine_for(o.device);
    const auto cpu = engine_for(o.cpu);
    std::string device_desc;
    for (const auto &b : device->backends())
        if (b.name == o.device) {
            if (b.status == coe::BackendStatus::rejected) {
                std::cout << "SKIPPED: backend " << o.device << " cannot run here: " << b.reason << "\n";
                return 77;
            }
            device_desc = b.reason;
        }
    if (device->active_backend() != o.device) {
        std::cout << "SKIPPED: backend " << o.device << " is not available\n";
        return 77;
    }
    const std::string cpu_name = cpu->active_backend();
    std::cout << "# Dense similarity: " << o.device << " vs " << cpu_name << "\n\n"
              << "- CPU: " << cpu_model() << "\n- device: " << device_desc
              << "\n- time per call, wall clock, median (ms); each call returns the n x n matrix to the host\n\n"
              << "| n | d | multiply-adds | " << cpu_name << " ms | " << o.device << " ms | " << cpu_name << " / "
              << o.device << " |\n|---|---|---|---|---|---|\n";
    boost::json::array rows;
    boost::json::object break_even;
    for (std::uint64_t d : o.dims) {
        std::uint64_t first_faster = 0;  // the smallest n from which the device stays faster
        for (std::uint64_t n : o.counts) {
            const double madds = static_cast<double>(n) * static_cast<double>(n + 1) / 2.0 * static_cast<double>(d);
            boost::json::object row{{"n", n}, {"d", d}, {"multiply_adds", madds}};
            if (n * n >= (std::uint64_t{1} << 32)) {
                const std::string why = "not measured: one call's result is n x n floats (" +
                                        std::to_string(n * n * 4 / 1000000000) + " GB) and n * n must be below 2^32";
                std::cout << "| " << n << " | " << d << " | " << madds << " | " << why << " | | |\n";
                row["skipped"] = why;
                rows.push_back(row);
                continue;
            }
            std::vector<float> v(n * d);
            std::mt19937 rng(static_cast<std::uint32_t>(n * 131 + d));
            std::normal_distribution<float> normal;
            for (auto &x : v) x = normal(rng);
            const auto un = static_cast<std::uint32_t>(n);
            const double c = time_calls(*cpu, v, un, d, o.seconds), g = time_calls(*device, v, un, d, o.seconds);
            if (g < c) {
                if (first_faster == 0) first_faster = n;
            } else {
                first_faster = 0;
            }
            std::cout << "| " << n << " | " << d << " | " << madds << " | " << c << " | " << g << " | " << c / g
                      << " |\n"
                      << std::flush;
            row["cpu_ms"] = c;
            row["device_ms"] = g;
            rows.push_back(row);
        }
        const std::string key = std::to_string(d);
        if (first_faster != 0) {
            const double madds = static_cast<double>(first_faster) * static_cast<double>(first_faster + 1) / 2.0 *
                                 static_cast<double>(d);
            break_even[key] = boost::json::object{{"n", first_faster}, {"multiply_adds", madds}};
            std::cout << "\nbreak-even at d = " << d << ": n = " << first_faster << " (" << madds
                      << " multiply-adds) and above\n";
        } else {
            break_even[key] = nullptr;
            std::cout << "\nbreak-even at d = " << d << ": none in the sizes measured\n";
        }
        std::cout << "\n";
    }
    if (!o.json.empty()) {
        std::ofstream f(o.json);
        f << boost::json::serialize(boost::json::object{{"cpu", cpu_model()},
                                                        {"device", device_desc},
                                                        {"cpu_backend", cpu_name},
                                                        {"device_backend", o.device},
                                                        {"rows", rows},
                                                        {"break_even", break_even}})
          << "\n";
    }
    return 0;
} catch (const std::exception &e) {
    std::cerr << "device_bench: " << e.what() << "\n";
    return 1;
}

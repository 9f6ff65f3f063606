// device_bench: the dense similarity matrix (coe.similarity/2, dense
// vectors) and the word embeddings (coe.embed_words/1) on the device backend
// beside the best CPU backend, call by call, over a sweep of sizes; and the
// break-even size from which the device is faster.  Wall-clock time per call
// through Engine::similarity and Engine::embed_words (what a host gets: the
// transfers, the device's work and the host's share), median of several
// calls.
//
//   device_bench [--n 31,100,...] [--d 100,1024] [--texts 31,1000,...]
//                [--tokens 250] [--word-vectors FILE] [--device vulkan]
//                [--cpu auto] [--seconds 0.3] [--json FILE]
//
// Prints Markdown tables (the machine's CPU model and the device named) and
// writes the same numbers as JSON.  Sizes whose n x n float result would not
// fit one call (n * n >= 2^32) are listed as not measured, with the reason.
// The embeddings use the word-vector file (--word-vectors, else where the
// engine finds one), its table named by the file's checksum as the engine
// names it (so a device keeps it), weights 1, and texts of --tokens words
// drawn from the file's first 20,000 rows (a fixed seed); without a file
// that part is skipped, saying so.  --texts 0 skips it too.
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
#include "coe/word_vectors.hpp"
#include "features/word_vectors_file.hpp"

namespace {

struct Options {
    std::vector<std::uint64_t> counts = {31, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 100000};
    std::vector<std::uint64_t> dims = {100, 1024};
    std::vector<std::uint64_t> texts = {31, 1000, 10000, 100000};  // per embed_words call
    std::uint64_t tokens = 250;                                    // words per text
    std::string device = "vulkan", cpu = "auto", json, word_vectors;
    double seconds = 0.3;  // per cell: calls are repeated until this much time has passed (at least 1, at most 25)
};

std::vector<std::uint64_t> parse_list(const std::string &flag, const std::string &text) {
    std::vector<std::uint64_t> out;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');) {
        char *end = nullptr;
        const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
        if (item.empty() || *end != 0 || (v == 0 && flag != "--texts"))
            throw std::runtime_error(flag + ": '" + item + "' is not a count");
        if (v == 0) continue;  // --texts 0: no embeddings
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
        else if (a == "--texts") o.texts = parse_list(a, value());
        else if (a == "--tokens") o.tokens = parse_list(a, value()).at(0);
        else if (a == "--word-vectors") o.word_vectors = value();
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

// Median wall-clock milliseconds of call() (which checks its own result),
// after one warm-up call (buffers, the device's pipelines, uploads): at
// least 3 calls, then more until `seconds` have passed, at most 25.
template <class Call>
double median_ms(double seconds, Call &&call) {
    std::vector<double> ms;
    const auto start = std::chrono::steady_clock::now();
    call();
    while (
        ms.size() < 3 ||
        (ms.size() < 25 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds)) {
        const auto t0 = std::chrono::steady_clock::now();
        call();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

// One dense similarity call.
double time_calls(const coe::Engine &e, const std::vector<float> &v, std::uint32_t n, std::uint64_t d, double seconds) {
    return median_ms(seconds, [&] {
        if (e.similarity(v.data(), n, d).rows != n) throw std::runtime_error("a result of the wrong shape");
    });
}

// ---- coe.embed_words/1

// The word-vector file named, else the one the engine would find; empty if
// none.
std::string word_vectors_file(const Options &o) {
    if (!o.word_vectors.empty()) return o.word_vectors;
    for (const auto &place : coe::word_vectors_search_path())
        if (place.missing.empty() && !place.file.empty()) return place.file;
    return {};
}

// One embed_words call.
double time_embed(const coe::Engine &e, const std::vector<std::string_view> &texts, const coe_word_table &table,
                  double seconds) {
    return median_ms(seconds, [&] {
        if (e.embed_words(texts, table).known_words.size() != texts.size())
            throw std::runtime_error("a result of the wrong shape");
    });
}

// The embeddings' sweep: a Markdown table on stdout, rows into `out`.
void measure_embed_words(const Options &o, const coe::Engine &cpu, const coe::Engine &device,
                         const std::string &cpu_name, boost::json::object &out) {
    if (o.texts.empty()) return;
    const std::string file = word_vectors_file(o);
    std::cout << "# Word embeddings (coe.embed_words/1): " << o.device << " vs " << cpu_name << "\n\n";
    if (file.empty()) {
        std::cout << "skipped: no word-vector file (--word-vectors FILE, or COE_DATA_DIR)\n\n";
        out["embed_words_skipped"] = "no word-vector file";
        return;
    }
    const coe::detail::WordVectorsFile vectors = coe::detail::WordVectorsFile::open(file);
    const std::vector<float> weights(vectors.word_count(), 1.f);
    const coe_word_table table = vectors.table(weights.data());
    const std::uint32_t common = std::min<std::uint32_t>(vectors.word_count(), 20000);
    std::cout << "- table: " << vectors.word_count() << " words x " << vectors.dims() << " dims ("
              << vectors.size_bytes() / 1000000 << " MB), values_id set (kept on the device)\n"
              << "- texts of " << o.tokens << " words drawn from the first " << common << " rows\n\n"
              << "| texts | tokens | " << cpu_name << " ms | " << o.device << " ms | " << cpu_name << " / " << o.device
              << " |\n|---|---|---|---|---|\n";
    boost::json::array rows;
    std::mt19937 rng(20000);
    for (std::uint64_t n : o.texts) {
        std::vector<std::string> texts(n);
        for (auto &t : texts)
            for (std::uint64_t k = 0; k < o.tokens; ++k)
                (t += vectors.word(static_cast<std::uint32_t>(rng() % common))) += ' ';
        const std::vector<std::string_view> views(texts.begin(), texts.end());
        const double c = time_embed(cpu, views, table, o.seconds), g = time_embed(device, views, table, o.seconds);
        const double tokens = static_cast<double>(n * o.tokens);
        std::cout << "| " << n << " | " << tokens << " | " << c << " | " << g << " | " << c / g << " |\n" << std::flush;
        rows.push_back(boost::json::object{{"texts", n}, {"tokens", tokens}, {"cpu_ms", c}, {"device_ms", g}});
    }
    std::cout << "\n";
    out["embed_words"] =
        boost::json::object{{"file", file}, {"words", vectors.word_count()}, {"dims", vectors.dims()}, {"rows", rows}};
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
    boost::json::object result{{"cpu", cpu_model()},         {"device", device_desc}, {"cpu_backend", cpu_name},
                               {"device_backend", o.device}, {"rows", rows},          {"break_even", break_even}};
    measure_embed_words(o, *cpu, *device, cpu_name, result);
    if (!o.json.empty()) {
        std::ofstream f(o.json);
        f << boost::json::serialize(result) << "\n";
    }
    return 0;
} catch (const std::exception &e) {
    std::cerr << "device_bench: " << e.what() << "\n";
    return 1;
}

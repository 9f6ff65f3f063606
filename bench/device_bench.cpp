// device_bench: the dense similarity matrix (coe.similarity/2, dense
// vectors) and the word embeddings (coe.embed_words/1) on the device backend
// beside the best CPU backend, call by call, over a sweep of sizes; and the
// break-even size from which the device is faster.  Wall-clock time per call
// through Engine::similarity and Engine::embed_words (what a host gets: the
// transfers, the device's work and the host's share), median of several
// calls.  Then a batch of panels through Engine::analyze_batch, the whole
// pipeline, three ways: on the CPU backend, on the device forced, and as a
// host gets it (routing by size); with each operation's time per panel.
//
//   device_bench [--n 31,100,...] [--d 100,1024] [--texts 31,1000,...]
//                [--tokens 250] [--word-vectors FILE] [--device vulkan]
//                [--cpu auto] [--seconds 0.3] [--json FILE]
//                [--panels 100000] [--chunk 1000] [--corpus FILE]
//
// Prints Markdown tables (the machine's CPU model and the device named) and
// writes the same numbers as JSON.  Sizes whose n x n float result would not
// fit one call (n * n >= 2^32) are listed as not measured, with the reason.
// The embeddings use the word-vector file (--word-vectors, else where the
// engine finds one), its table named by the file's checksum as the engine
// names it (so a device keeps it), weights 1, and texts of --tokens words
// drawn from the file's first 20,000 rows (a fixed seed); without a file
// that part is skipped, saying so.  --texts 0 skips it too.
// The batch cycles through the panels of --corpus (the MT-Bench panels) up
// to --panels, handed to analyze_batch --chunk at a time (all cores), with
// the word vectors when there is a file; --panels 0 skips it.
// Exits 77 (SKIPPED) when the device backend cannot run here.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <boost/json.hpp>

#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"
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
    std::uint64_t panels = 100000, chunk = 1000;  // the batch of panels, and how many go to one analyze_batch
    std::string corpus = COE_BENCH_DEFAULT_CORPUS;
};

std::vector<std::uint64_t> parse_list(const std::string &flag, const std::string &text) {
    std::vector<std::uint64_t> out;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');) {
        char *end = nullptr;
        const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
        if (item.empty() || *end != 0 || (v == 0 && flag != "--texts" && flag != "--panels"))
            throw std::runtime_error(flag + ": '" + item + "' is not a count");
        if (v == 0) continue;  // --texts 0: no embeddings; --panels 0: no batch
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
        else if (a == "--panels") {
            const auto list = parse_list(a, value());
            o.panels = list.empty() ? 0 : list.at(0);
        } else if (a == "--chunk") o.chunk = parse_list(a, value()).at(0);
        else if (a == "--corpus") o.corpus = value();
        else throw std::runtime_error("unknown argument " + a);
    }
    return o;
}

// The model name, with the family and model numbers (a virtual machine may
// name only the vendor: "AMD EPYC" is a Zen 4 or a Zen 5).
std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::string name = "unknown CPU", family, model;
    for (std::string line; std::getline(f, line) && line.find_first_not_of(" \t") != std::string::npos;) {
        const auto colon = line.find(':');
        if (colon == std::string::npos || colon + 2 > line.size()) continue;
        const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1),
                          value = line.substr(colon + 2);
        if (key == "model name") name = value;
        else if (key == "cpu family") family = value;
        else if (key == "model") model = value;
    }
    return family.empty() ? name : name + " (family " + family + " model " + model + ")";
}

// `routing`: whether large dense calls may go to the device on their own
// (only when no backend is forced); the CPU side measures the CPU alone.
std::shared_ptr<coe::Engine> engine_for(const std::string &backend,
                                        coe::DeviceRouting routing = coe::DeviceRouting::off,
                                        const std::string &word_vectors = {}) {
    coe::EngineOptions o;
    o.plugin_paths = {COE_BENCH_PLUGIN_DIR};
    o.use_environment = false;
    o.backend = backend == "auto" ? "" : backend;
    o.device_routing.mode = routing;
    o.word_vectors_file = word_vectors;
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

// ---- a batch of panels through the whole pipeline

std::vector<coe::Panel> read_corpus(const std::string &file) {
    std::ifstream f(file, std::ios::binary);
    if (!f) throw std::runtime_error(file + ": cannot read the panels (--corpus)");
    std::stringstream text;
    text << f.rdbuf();
    std::vector<coe::Panel> panels;
    for (auto &line : coe::parse_panel_lines(text.str(), file)) {
        if (auto *error = std::get_if<std::string>(&line.panel_or_error)) throw std::runtime_error(*error);
        panels.push_back(std::move(std::get<coe::Panel>(line.panel_or_error)));
    }
    if (panels.empty()) throw std::runtime_error(file + ": no panels");
    return panels;
}

// A report without what may differ between backends: which served it, the
// events met and the times.
std::string comparable(coe::Report r) {
    r.backend.clear();
    r.served_by.clear();
    r.degraded = false;
    r.events.clear();
    r.timing = {};
    return coe::to_json(r);
}

struct BatchRun {
    double seconds = 0;
    std::uint64_t failed = 0, differ = 0;  // panels without a report; reports unlike the reference's
    // operation -> milliseconds, all backends; and the device backend's
    // calls of the two operations it runs on the device, by operation
    std::map<std::string, double> op_ms;
    std::map<std::string, std::uint64_t> device_calls;
};

// `count` panels cycled from `views`, `chunk` to an analyze_batch call.  The
// first views.size() reports are compared with `reference` (when given),
// else stored into it.
BatchRun run_batch(const coe::Engine &e, const std::vector<coe::PanelView> &views, const Options &o,
                   std::vector<std::string> &reference) {
    BatchRun run;
    const bool record = reference.empty();
    std::vector<coe::PanelView> batch;
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t done = 0; done < o.panels;) {
        const std::uint64_t k = std::min(o.chunk, o.panels - done);
        batch.clear();
        for (std::uint64_t i = 0; i < k; ++i) batch.push_back(views[(done + i) % views.size()]);
        const auto results = e.analyze_batch(batch);
        for (std::uint64_t i = 0; i < k; ++i) {
            const auto &r = results[i];
            if (!r.report) {
                ++run.failed;
                continue;
            }
            if (done + i >= views.size()) continue;
            if (record) reference.push_back(comparable(*r.report));
            else if (reference.at(done + i) != comparable(*r.report)) ++run.differ;
        }
        done += k;
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // the exact sums of the telemetry (the JSON report rounds the means to a microsecond)
    std::istringstream metrics(e.performance_report_prometheus());
    auto label = [](const std::string &line, const std::string &name) {
        const auto at = line.find(name + "=\"") + name.size() + 2;
        return line.substr(at, line.find('"', at) - at);
    };
    for (std::string line; std::getline(metrics, line);) {
        const bool sum = line.rfind("coe_operation_latency_ms_sum{", 0) == 0,
                   count = line.rfind("coe_operation_latency_ms_count{", 0) == 0;
        if (!sum && !count) continue;
        const std::string op = label(line, "operation");
        const double value = std::stod(line.substr(line.rfind(' ') + 1));
        if (sum) run.op_ms[op] += value;
        else if (label(line, "backend") == o.device && (op == "coe.embed_words" || op == "coe.similarity"))
            run.device_calls[op] += static_cast<std::uint64_t>(value);
    }
    return run;
}

// The batch on the CPU backend, on the device forced and with routing: a
// Markdown table on stdout, the numbers into `out`.
void measure_batch(const Options &o, const std::string &cpu_name, boost::json::object &out) {
    if (o.panels == 0) return;
    const std::string file = word_vectors_file(o);
    const std::vector<coe::Panel> panels = read_corpus(o.corpus);
    std::vector<coe::PanelView> views;
    for (const auto &p : panels) views.push_back(p.view());
    const std::string features = file.empty() ? "TF-IDF (no word-vector file: no dense work)" : "word vectors";
    const std::string corpus = std::filesystem::path(o.corpus).filename().string();
    std::cout << "# A batch of panels (Engine::analyze_batch, the whole pipeline)\n\n- " << o.panels
              << " panels cycled from " << panels.size() << " (" << corpus << "), " << o.chunk
              << " to a call, all cores; features: " << features
              << "\n- routed: no backend forced, large dense calls to the device by size (the default)\n"
              << "- us/panel: the operations' time in the engine's telemetry (summed over the threads) per panel; "
                 "the rest of a panel's time is the engine's own (items, cleaning, the report)\n\n"
              << "| run | seconds | panels/s | reports unlike " << cpu_name << "'s (first " << panels.size()
              << ") | embed_words + similarity calls on " << o.device
              << " | coe.embed_words us/panel | coe.similarity us/panel | all operations us/panel |\n"
                 "|---|---|---|---|---|---|---|---|\n";
    struct Side {
        std::string name, backend;
        coe::DeviceRouting routing;
    };
    const Side sides[] = {{cpu_name, o.cpu, coe::DeviceRouting::off},
                          {o.device + " (forced)", o.device, coe::DeviceRouting::off},
                          {"routed", "auto", coe::DeviceRouting::automatic}};
    std::vector<std::string> reference;
    boost::json::array rows;
    for (const auto &side : sides) {
        const auto engine = engine_for(side.backend, side.routing, file);
        const BatchRun run = run_batch(*engine, views, o, reference);
        if (run.failed != 0)
            throw std::runtime_error(side.name + ": " + std::to_string(run.failed) + " panels without a report");
        const double per_panel = 1000.0 / static_cast<double>(o.panels);  // ms in all -> us a panel
        double total = 0;
        for (const auto &[op, ms] : run.op_ms) total += ms;
        auto us = [&](const char *op) {
            const auto it = run.op_ms.find(op);
            return it == run.op_ms.end() ? 0.0 : it->second * per_panel;
        };
        std::uint64_t device_calls = 0;
        for (const auto &[op, calls] : run.device_calls) device_calls += calls;
        const double rate = static_cast<double>(o.panels) / run.seconds;
        std::cout << "| " << side.name << " | " << run.seconds << " | " << rate << " | " << run.differ << " | "
                  << device_calls << " | " << us("coe.embed_words") << " | " << us("coe.similarity") << " | "
                  << total * per_panel << " |\n"
                  << std::flush;
        boost::json::object ops;
        for (const auto &[op, ms] : run.op_ms) ops[op] = ms;
        rows.push_back(boost::json::object{{"run", side.name},
                                           {"seconds", run.seconds},
                                           {"panels_per_second", rate},
                                           {"reports_unlike_cpu", run.differ},
                                           {"device_calls", device_calls},
                                           {"operation_ms", ops}});
    }
    std::cout << "\n";
    out["batch"] = boost::json::object{
        {"panels", o.panels}, {"chunk", o.chunk}, {"corpus", corpus}, {"features", features}, {"runs", rows}};
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
    measure_batch(o, cpu_name, result);
    if (!o.json.empty()) {
        std::ofstream f(o.json);
        f << boost::json::serialize(result) << "\n";
    }
    return 0;
} catch (const std::exception &e) {
    std::cerr << "device_bench: " << e.what() << "\n";
    return 1;
}

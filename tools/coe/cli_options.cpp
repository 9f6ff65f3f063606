#include "cli_options.hpp"

#include <cctype>
#include <charconv>
#include <filesystem>
#include <sstream>

#include "coe/cpu_features.hpp"
#include "coe/resilience.hpp"

namespace coe::cli {
namespace {

std::vector<std::string> split_commas(const std::string &s) {
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

double parse_number(const std::string &option, const std::string &text, double lo, double hi) {
    std::size_t used = 0;
    double v = 0;
    try {
        v = std::stod(text, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used == 0 || used != text.size() || !(v >= lo && v <= hi)) {
        std::ostringstream m;  // shortest form: [-1, 1], not [-1.000000, 1.000000]
        m << option << " expects a number in [" << lo << ", " << hi << "], got '" << text << "'";
        throw UsageError(m.str());
    }
    return v;
}

std::uint64_t parse_count(const std::string &option, const std::string &text, std::uint64_t lo, std::uint64_t hi) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty() || v < lo || v > hi)
        throw UsageError(option + " expects a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                         "], got '" + text + "'");
    return v;
}

std::chrono::milliseconds parse_duration(const std::string &option, const std::string &text) {
    std::size_t digits = 0;
    while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
        ++digits;
    const std::string unit = text.substr(digits);
    double scale = 0;
    if (unit == "ms") scale = 1;
    else if (unit == "s" || unit.empty()) scale = 1000;
    else if (unit == "m") scale = 60000;
    if (digits == 0 || scale == 0)
        throw UsageError(option + " expects a duration like 30s, 500ms or 2m, got '" + text + "'");
    const double v = parse_number(option, text.substr(0, digits), 0, 1e7) * scale;
    return std::chrono::milliseconds(static_cast<long long>(v));
}

bool take_format_flag(const std::string &arg, bool &json, bool &format_set) {
    if (arg != "--json" && arg != "--text") return false;
    if (format_set && json != (arg == "--json")) throw UsageError("--json and --text exclude each other");
    json = arg == "--json";
    format_set = true;
    return true;
}

const std::string &ArgCursor::value() {
    if (at_ + 1 >= args_.size()) throw UsageError(current() + " needs a value");
    return args_[++at_];
}

CommandLine parse_command_line(int argc, char **argv) {
    CommandLine cl;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw UsageError("option " + a + " needs a value");
            return argv[++i];
        };
        if (a == "--backend") {
            cl.engine.backend = value();
        } else if (a == "--plugin-path") {
            const std::string path = value();
            std::error_code ec;
            if (!std::filesystem::exists(path, ec))
                throw UsageError("--plugin-path " + path + ": no such file or folder");
            cl.engine.plugin_paths.emplace_back(path);
        } else if (a == "--plugin-isolation") {
            const std::string name = value();
            cl.engine.plugin_isolation.mode = plugin_isolation_from_string(name);
            if (!cl.engine.plugin_isolation.mode)
                throw UsageError("--plugin-isolation: '" + name + "' is not one of auto, in_process, process");
        } else if (a == "--device-routing") {
            const std::string name = value();
            cl.engine.device_routing.mode = device_routing_from_string(name);
            if (!cl.engine.device_routing.mode)
                throw UsageError("--device-routing: '" + name + "' is not one of auto, off");
        } else if (a == "--device-min-multiply-adds" || a == "--device-start-multiply-adds") {
            const std::string text = value();
            std::uint64_t n = 0;
            bool ok = !text.empty() && text.size() <= 20;
            for (char ch : text) {
                const auto digit = static_cast<std::uint64_t>(ch - '0');
                ok = ok && ch >= '0' && ch <= '9' && n <= (UINT64_MAX - digit) / 10;
                if (ok) n = n * 10 + digit;
            }
            if (!ok) throw UsageError(a + ": '" + text + "' is not a whole number of multiply-adds");
            (a == "--device-min-multiply-adds" ? cl.engine.device_routing.min_multiply_adds
                                               : cl.engine.device_routing.start_multiply_adds) = n;
        } else if (a == "--plugin-call-timeout") {
            cl.engine.plugin_isolation.call_timeout = parse_duration(a, value());
        } else if (a == "--disable-cpu") {
            for (const auto &name : split_commas(value())) {
                auto bit = cpu_feature_from_name(name);
                if (!bit) throw UsageError("--disable-cpu: unknown CPU feature '" + name + "'");
                cl.engine.mask_cpu_features |= *bit;
            }
        } else if (a == "--inject-fault") {
            try {
                cl.engine.resilience.faults.push_back(parse_fault_spec(value()));
            } catch (const UsageError &) {
                throw;
            } catch (const Error &e) {
                throw UsageError(std::string("--inject-fault: ") + e.what());
            }
        } else if (a == "--shadow-rate") {
            cl.engine.resilience.shadow_rate = parse_number(a, value(), 0, 1);
        } else if (a == "--features") {
            const std::string name = value();
            cl.engine.features = feature_kind_from_string(name);
            if (!cl.engine.features)
                throw UsageError("--features: '" + name + "' is not one of auto, tfidf, word_vectors, embedding");
        } else if (a == "--word-vectors") {
            const std::string path = value();
            std::error_code ec;
            if (!std::filesystem::exists(path, ec)) throw UsageError("--word-vectors " + path + ": no such file");
            cl.engine.word_vectors_file = path;
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

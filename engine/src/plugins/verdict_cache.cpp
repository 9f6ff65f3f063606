#include "verdict_cache.hpp"

#include <cinttypes>
#include <cstdio>
#include <sstream>

#include "coe/internal/cache_folder.hpp"
#include "plugin_loader.hpp"

namespace coe::detail {

namespace {

constexpr const char *header_line = "# coe plugin probe verdicts 2";

std::string clean(std::string s) {
    for (char &c : s)
        if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    return s;
}

std::string hex(std::uint64_t x) {
    char b[17];
    std::snprintf(b, sizeof b, "%016" PRIx64, x);
    return b;
}

// key \t 1|0 \t reason \t note, as written and checksummed
std::string fields_of(const std::string &key, const ProbeVerdict &v) {
    return clean(key) + '\t' + (v.admitted ? '1' : '0') + '\t' + clean(v.reason) + '\t' + clean(v.note);
}

// Calls f(key, verdict) for each good line; returns "" when every line was
// good, else the first problem.
template <class F>
std::string parse_lines(const std::string &content, F &&f) {
    std::istringstream in(content);
    std::string line, problem;
    std::size_t number = 0;
    auto bad = [&](const std::string &why) {
        if (problem.empty()) problem = "line " + std::to_string(number) + ": " + why;
    };
    if (!std::getline(in, line) || line != header_line) return "not a probe verdict file (header)";
    ++number;
    while (std::getline(in, line)) {
        ++number;
        const auto tab = line.rfind('\t');
        if (tab == std::string::npos || line.size() - tab - 1 != 16) {
            bad("no checksum");
            continue;
        }
        const std::string fields = line.substr(0, tab);
        if (line.compare(tab + 1, 16, hex(internal::checksum64(fields))) != 0) {
            bad("checksum does not match");
            continue;
        }
        std::istringstream parts(fields);
        std::string key, admitted, reason, note;
        std::getline(parts, key, '\t');
        std::getline(parts, admitted, '\t');
        std::getline(parts, reason, '\t');
        std::getline(parts, note, '\t');
        if (admitted != "1" && admitted != "0") {
            bad("admitted is neither 1 nor 0");
            continue;
        }
        f(key, ProbeVerdict{admitted == "1", reason, note});
    }
    return problem;
}

}  // namespace

VerdictCache::VerdictCache(std::filesystem::path file, IsCurrent current)
    : file_(std::move(file)), current_(std::move(current)) {}

VerdictCache &VerdictCache::instance() {
    static auto *cache = [] {  // used until exit, from any thread
        const auto folder = internal::user_cache_folder();
        return new VerdictCache(folder.empty() ? folder : folder / "plugin-probes-2.tsv", [](const std::string &key) {
            const std::string plugin = key.substr(0, key.find('|'));
            const std::string version = plugin + "|" + file_identity(plugin) + "|";  // "missing" when gone
            return key.compare(0, version.size(), version) == 0;
        });
    }();
    return *cache;
}

void VerdictCache::merge_disk() {
    disk_read_ = true;
    seen_ = internal::cache_file_stamp(file_);
    const auto content = internal::read_cache_file(file_);
    if (!content) return;
    parse_lines(*content, [&](const std::string &key, ProbeVerdict v) { verdicts_.emplace(key, std::move(v)); });
}

bool VerdictCache::find(const std::string &key, bool use_disk, ProbeVerdict &out) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (use_disk && !disk_read_ && !file_.empty()) merge_disk();
    auto it = verdicts_.find(key);
    if (it == verdicts_.end()) return false;
    out = it->second;
    return true;
}

void VerdictCache::store(const std::string &key, const ProbeVerdict &v, bool use_disk) {
    std::lock_guard<std::mutex> lock(mutex_);
    verdicts_[key] = v;
    if (!use_disk || file_.empty()) return;
    internal::CacheFileLock file_lock(file_);
    if (!file_lock.held()) return;  // a cache we cannot write is only slower
    if (!disk_read_ || internal::cache_file_stamp(file_) != seen_) merge_disk();  // others wrote meanwhile
    for (auto it = verdicts_.begin(); it != verdicts_.end();)
        it = current_(it->first) ? std::next(it) : verdicts_.erase(it);
    std::string out = std::string(header_line) + "\n";
    for (const auto &[k, verdict] : verdicts_) {
        const std::string fields = fields_of(k, verdict);
        out += fields + '\t' + hex(internal::checksum64(fields)) + '\n';
    }
    if (internal::replace_cache_file(file_, out)) seen_ = internal::cache_file_stamp(file_);
}

std::string VerdictCache::check_file(const std::filesystem::path &file) {
    const auto content = internal::read_cache_file(file);
    if (!content) return {};
    return parse_lines(*content, [](const std::string &, const ProbeVerdict &) {});
}

}  // namespace coe::detail

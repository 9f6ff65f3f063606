// verdict_cache.hpp - probe verdicts by "path|identity|helper identity|
// engine version", in memory for the process and in a file of the user
// cache folder between processes, so that each plugin version is probed
// once.
//
// The file (plugin-probes-2.tsv: key, admitted, reason, note, checksum per
// line) is shared by every process of the user: store() takes its lock,
// merges what other processes wrote since, drops the verdicts `current`
// calls stale (file versions that are gone), and replaces the file whole
// and atomically (coe/internal/cache_file.hpp).  A line whose checksum does
// not match is ignored, so a damaged file never yields a wrong verdict.
// Thread-safe.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "coe/internal/cache_file.hpp"
#include "plugin_probe.hpp"

namespace coe::detail {

class VerdictCache {
public:
    // Does a key still name a file version that exists?
    using IsCurrent = std::function<bool(const std::string &key)>;
    // `file` empty: memory only.
    VerdictCache(std::filesystem::path file, IsCurrent current);

    // The process's cache, in <user cache folder>/plugin-probes-2.tsv.
    static VerdictCache &instance();

    bool find(const std::string &key, bool use_disk, ProbeVerdict &out);
    void store(const std::string &key, const ProbeVerdict &v, bool use_disk);

    // Checks a verdict file as it is read: "" when every line is whole and
    // matches its checksum (or the file is absent), else the first problem.
    static std::string check_file(const std::filesystem::path &file);

private:
    void merge_disk();  // adds the file's verdicts this process lacks

    const std::filesystem::path file_;
    const IsCurrent current_;
    std::mutex mutex_;
    bool disk_read_ = false;
    internal::CacheFileStamp seen_;  // the version of the file last read or written here
    std::map<std::string, ProbeVerdict> verdicts_;
};

}  // namespace coe::detail

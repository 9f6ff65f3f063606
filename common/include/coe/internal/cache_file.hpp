// cache_file.hpp - a file of the user cache folder that several processes
// share (the embedding cache, the probe verdicts).
//
// Writers take an exclusive lock (flock on "<file>.lock", released by the
// kernel when the holder dies), write the whole new file into a temporary
// file beside it, sync it and rename it over the old one: a reader sees the
// old file or the new one, never part of one, and a writer killed at any
// point leaves the old file intact plus a temporary file that the next
// writer removes.  Readers need no lock.  Records inside carry
// checksum64() so that a damaged file is caught record by record.
//
// Threading: no shared state; a CacheFileLock belongs to one thread.
// Errors: nothing throws; a cache that cannot be locked or written is only
// slower, so failures are reported as false / empty.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace coe::internal {

class CacheFileLock {
public:
    // Waits up to `patience_ms` for the lock of `file` (creating its folder
    // and lock file as needed); held() says whether it got it.
    explicit CacheFileLock(const std::filesystem::path &file, int patience_ms = 3000);
    ~CacheFileLock();
    CacheFileLock(const CacheFileLock &) = delete;
    CacheFileLock &operator=(const CacheFileLock &) = delete;
    bool held() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

// Replaces `file` with `bytes` atomically and durably (temporary file,
// fsync, rename, fsync of the folder).  Call with the file's lock held: it
// also removes temporary files that killed writers left.  False on failure
// (the old file is then unchanged).
bool replace_cache_file(const std::filesystem::path &file, std::string_view bytes);

// The whole content of `file`; nullopt when it cannot be read.
std::optional<std::string> read_cache_file(const std::filesystem::path &file);

// Which version of a file is on disk (device, inode, size, change time):
// equal stamps mean nobody replaced it in between.  All zero when absent.
struct CacheFileStamp {
    std::uint64_t device = 0, inode = 0, size = 0;
    std::int64_t changed_ns = 0;
    bool operator==(const CacheFileStamp &o) const {
        return device == o.device && inode == o.inode && size == o.size && changed_ns == o.changed_ns;
    }
    bool operator!=(const CacheFileStamp &o) const { return !(*this == o); }
};
CacheFileStamp cache_file_stamp(const std::filesystem::path &file);

// A 64-bit checksum of `bytes` (FNV-1a, then a final mix): any damage to a
// record shows as a mismatch with overwhelming probability.
std::uint64_t checksum64(std::string_view bytes);

}  // namespace coe::internal

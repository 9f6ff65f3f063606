#include "coe/internal/cache_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace coe::internal {

namespace {

std::filesystem::path lock_path(const std::filesystem::path &file) { return file.string() + ".lock"; }

bool is_temporary_of(const std::filesystem::path &candidate, const std::filesystem::path &file) {
    const std::string name = candidate.filename().string(), prefix = file.filename().string() + ".";
    return name.size() > prefix.size() + 4 && name.compare(0, prefix.size(), prefix) == 0 &&
           name.compare(name.size() - 4, 4, ".tmp") == 0;
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

CacheFileLock::CacheFileLock(const std::filesystem::path &file, int patience_ms) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    const int fd = ::open(lock_path(file).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(patience_ms);
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if ((errno != EWOULDBLOCK && errno != EINTR) || std::chrono::steady_clock::now() >= give_up) {
            ::close(fd);
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    fd_ = fd;
}

CacheFileLock::~CacheFileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
}

bool replace_cache_file(const std::filesystem::path &file, std::string_view bytes) {
    std::error_code ec;
    const std::filesystem::path folder = file.parent_path();
    std::filesystem::create_directories(folder, ec);
    // under the lock, every temporary file of `file` is a dead writer's
    for (std::filesystem::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
        if (is_temporary_of(it->path(), file)) std::filesystem::remove(it->path(), ec);
    static std::atomic<std::uint64_t> counter{0};
    const std::filesystem::path tmp =
        file.string() + "." + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    const bool written = write_all(fd, bytes) && ::fsync(fd) == 0;
    if (::close(fd) != 0 || !written) {
        std::filesystem::remove(tmp, ec);
        return false;
    }
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        std::filesystem::remove(tmp, ec);
        return false;
    }
    if (const int dir = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
        ::fsync(dir);  // the rename itself survives a power cut
        ::close(dir);
    }
    return true;
}

std::optional<std::string> read_cache_file(const std::filesystem::path &file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return std::move(content).str();
}

CacheFileStamp cache_file_stamp(const std::filesystem::path &file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return {};
    return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
            static_cast<std::uint64_t>(st.st_size),
            static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec};
}

std::uint64_t checksum64(std::string_view bytes) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    h ^= bytes.size();
    h ^= h >> 30;  // splitmix64's finaliser: every input bit reaches every output bit
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

}  // namespace coe::internal

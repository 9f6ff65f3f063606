#include "features/word_vectors_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coe/error.hpp"
#include "coe/internal/cache_folder.hpp"
#include "coe/word_vectors.hpp"
#include "config/package_location.hpp"
#include "features/word_table.hpp"
#include "features/word_vectors_format.hpp"
#include "features/word_vectors_table_check.hpp"

namespace coe::detail {

namespace format = word_vectors_format;

namespace {

std::string str(std::uint64_t n) { return std::to_string(n); }

std::string hex(std::uint64_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string s = "0x0000000000000000";
    for (int i = 17; i >= 2; --i, n >>= 4) s[static_cast<std::size_t>(i)] = digits[n & 15];
    return s;
}

struct Descriptor {
    int fd;
    Descriptor(const Descriptor &) = delete;
    Descriptor &operator=(const Descriptor &) = delete;
    ~Descriptor() {
        if (fd >= 0) ::close(fd);
    }
};

// Reads `size` bytes of the file from `offset` through a buffer that stays
// in the L2 cache, hands each piece to `visit(offset, bytes, count)` and
// returns their checksum.  Not through the mapping: streamed through 4 KiB
// page-cache pages (a TLB entry each) the 76 MB file of
// scripts/fetch-word-vectors.sh hashed in 30-40 ms on a Zen 5 virtual
// machine, read this way in 10-12 ms.  Every piece but the last fills the
// buffer, so pieces start at `offset` plus multiples of its size.
template <class Problem, class Visit>
std::uint64_t read_payload(int fd, std::uint64_t offset, std::uint64_t size, const Problem &problem, Visit &&visit) {
    constexpr std::size_t buffer_size = std::size_t{256} << 10;
    std::vector<unsigned char> buffer(buffer_size);
    format::Checksum sum;
    while (size > 0) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(size, buffer_size));
        std::size_t have = 0;
        while (have < want) {
            const ssize_t got = ::pread(fd, buffer.data() + have, want - have, static_cast<off_t>(offset + have));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw problem(std::string("cannot read: ") + std::strerror(errno));
            if (got == 0) throw problem("truncated while it was read (the file changed)");
            have += static_cast<std::size_t>(got);
        }
        sum.add(buffer.data(), want);
        visit(offset, buffer.data(), want);
        offset += want;
        size -= want;
    }
    return sum.finish();
}

}  // namespace

WordVectorsFile WordVectorsFile::open(const std::filesystem::path &path) {
    const auto start = std::chrono::steady_clock::now();
    const std::string name = path.string();
    auto problem = [&](const std::string &what) { return Error(name + ": " + what); };

    const Descriptor file{::open(name.c_str(), O_RDONLY | O_CLOEXEC)};  // open until the checksum is read
    if (file.fd < 0) throw problem(std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const int err = errno;
        throw problem(S_ISREG(st.st_mode) ? std::string("cannot stat: ") + std::strerror(err) : "not a regular file");
    }
    const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
    if (size < format::header_size)
        throw problem("truncated: " + str(size) + " bytes, shorter than the " + str(format::header_size) +
                      "-byte header");
    // Shared and read-only: every process that maps the file shares its
    // pages.  Populated at once (about 1 ms for 76 MB), so lookups never
    // fault.
    void *map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, file.fd, 0);
    if (map == MAP_FAILED) throw problem(std::string("cannot map: ") + std::strerror(errno));

    WordVectorsFile f;  // unmaps if validation throws
    f.path_ = path;
    f.base_ = static_cast<const unsigned char *>(map);
    f.size_ = size;

    format::Header h;
    std::memcpy(&h, f.base_, sizeof h);
    if (std::memcmp(h.magic, format::magic, sizeof h.magic) != 0) throw problem("wrong magic: not a word-vector file");
    if (h.version != format::version)
        throw problem("version " + str(h.version) + " not supported (this engine reads version " +
                      str(format::version) + ")");
    if (h.header_size != format::header_size)
        throw problem("header size " + str(h.header_size) + " not supported (expected " + str(format::header_size) +
                      ")");
    if (h.value_type != format::value_type_binary16)
        throw problem("value type " + str(h.value_type) + " not supported (1: binary16)");
    if (h.dims < 1 || h.dims > format::max_dims)
        throw problem("dims " + str(h.dims) + " is outside 1.." + str(format::max_dims));
    if (h.reserved != 0) throw problem("the reserved header field is not 0");

    const std::uint64_t payload = size - format::header_size;
    if (h.payload_bytes > payload)
        throw problem("truncated: the header promises " + str(h.payload_bytes) + " payload bytes, the file has " +
                      str(payload) + " after the header");
    if (h.payload_bytes < payload)
        throw problem("payload size mismatch: the header says " + str(h.payload_bytes) + " bytes, the file has " +
                      str(payload) + " after the header");
    if (h.slot_count == 0 || (h.slot_count & (h.slot_count - 1)) != 0 || h.slot_count <= h.word_count)
        throw problem("slot_count " + str(h.slot_count) + " is not a power of two above word_count " +
                      str(h.word_count));
    if (h.words_bytes > UINT32_MAX || h.words_bytes > payload)
        throw problem("words_bytes " + str(h.words_bytes) + " does not fit the file");
    const format::Layout at = format::layout(h.word_count, h.slot_count, h.words_bytes, h.dims);
    if (at.end > size)
        throw problem("truncated: the sections need " + str(at.end) + " bytes, the file has " + str(size));
    if (at.end < size)
        throw problem("payload size mismatch: the sections end at byte " + str(at.end) + ", the file has " + str(size) +
                      " bytes");

    // the slot and offset tables are checked from the same read (after the
    // checksum: damage is named as such before what it broke)
    WordVectorsTableCheck tables(h.word_count, h.slot_count, h.words_bytes, at);
    const std::uint64_t sum = read_payload(
        file.fd, format::header_size, payload, problem,
        [&](std::uint64_t offset, const unsigned char *bytes, std::size_t count) { tables.add(offset, bytes, count); });
    if (sum != h.checksum)
        throw problem("checksum mismatch: the header says " + hex(h.checksum) + ", the payload hashes to " + hex(sum) +
                      " (the file is damaged)");
    if (const std::string p = tables.problem(); !p.empty()) throw problem(p);

    f.dims_ = h.dims;
    f.word_count_ = h.word_count;
    f.slot_count_ = h.slot_count;
    f.checksum_ = h.checksum;
    f.slots_ = reinterpret_cast<const std::uint32_t *>(f.base_ + at.slots);
    f.word_offsets_ = reinterpret_cast<const std::uint32_t *>(f.base_ + at.word_offsets);
    f.words_ = reinterpret_cast<const char *>(f.base_ + at.words);
    f.values_ = reinterpret_cast<const std::uint16_t *>(f.base_ + at.values);

    f.open_time_ = std::chrono::steady_clock::now() - start;
    return f;
}

WordVectorsFile::WordVectorsFile(WordVectorsFile &&other) noexcept { *this = std::move(other); }

WordVectorsFile &WordVectorsFile::operator=(WordVectorsFile &&other) noexcept {
    if (this != &other) {
        unmap();
        path_ = std::move(other.path_);
        base_ = std::exchange(other.base_, nullptr);
        size_ = std::exchange(other.size_, 0);
        dims_ = std::exchange(other.dims_, 0);
        word_count_ = std::exchange(other.word_count_, 0);
        slot_count_ = std::exchange(other.slot_count_, 0);
        checksum_ = std::exchange(other.checksum_, 0);
        slots_ = std::exchange(other.slots_, nullptr);
        word_offsets_ = std::exchange(other.word_offsets_, nullptr);
        words_ = std::exchange(other.words_, nullptr);
        values_ = std::exchange(other.values_, nullptr);
        open_time_ = other.open_time_;
    }
    return *this;
}

WordVectorsFile::~WordVectorsFile() { unmap(); }

void WordVectorsFile::unmap() noexcept {
    if (base_ != nullptr) ::munmap(const_cast<unsigned char *>(base_), size_);
    base_ = nullptr;
}

std::string_view WordVectorsFile::word(std::uint32_t row) const {
    return {words_ + word_offsets_[row], static_cast<std::size_t>(word_offsets_[row + 1] - word_offsets_[row])};
}

coe_word_table WordVectorsFile::table(const float *weights) const {
    return word_table_view(dims_, word_count_, slot_count_, slots_, word_offsets_, words_, weights, values_, checksum_);
}

}  // namespace coe::detail

namespace coe {

WordVectorsInfo inspect_word_vectors(const std::string &file) {
    const detail::WordVectorsFile f = detail::WordVectorsFile::open(file);
    WordVectorsInfo info;
    info.file = file;
    info.dims = f.dims();
    info.words = f.word_count();
    info.slots = f.slot_count();
    info.bytes = f.size_bytes();
    info.checksum = f.checksum();
    info.open_ms = std::chrono::duration<double, std::milli>(f.open_time()).count();
    return info;
}

std::vector<WordVectorsPlace> word_vectors_search_path() {
    std::vector<WordVectorsPlace> places;
    auto add = [&](const std::filesystem::path &folder, const char *source) {
        WordVectorsPlace p;
        p.source = source;
        if (folder.empty()) {
            p.missing = "no folder: none of COE_CACHE_DIR, XDG_CACHE_HOME and HOME is set";
            places.push_back(std::move(p));
            return;
        }
        p.file = (folder / word_vectors_file_name).lexically_normal().string();
        for (const auto &q : places)
            if (q.file == p.file) return;  // the same place twice: listed once
        std::error_code ec;
        const auto status = std::filesystem::status(p.file, ec);
        if (ec || status.type() == std::filesystem::file_type::not_found)
            p.missing = status.type() == std::filesystem::file_type::not_found ? "no such file" : ec.message();
        else if (status.type() != std::filesystem::file_type::regular) p.missing = "not a regular file";
        places.push_back(std::move(p));
    };
    if (const char *d = std::getenv("COE_DATA_DIR"); d != nullptr && *d != '\0') {
        add(d, "COE_DATA_DIR");
        return places;
    }
    const std::filesystem::path bin = detail::engine_binary_folder();
    if (detail::runs_from_build_tree(bin)) {
#ifdef COE_BUILD_TREE_DATA_DIR
        add(COE_BUILD_TREE_DATA_DIR, "build-tree");
#endif
    } else {
        // <prefix>/bin/coe or <prefix>/lib/libcoe...: <prefix>/share/coe
        if (!bin.empty()) add(bin.parent_path() / "share" / "coe", "install");
#ifdef COE_INSTALL_DATA_DIR
        // where `cmake --install` put it, for hosts installed elsewhere
        add(COE_INSTALL_DATA_DIR, "install");
#endif
    }
    add(internal::user_cache_folder(), "user-cache");
    return places;
}

}  // namespace coe

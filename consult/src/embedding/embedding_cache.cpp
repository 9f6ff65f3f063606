#include "embedding_cache.hpp"

#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

#include "coe/internal/cache_file.hpp"
#include "coe/internal/cache_folder.hpp"

namespace coe::consult_detail {

namespace {

using Key = std::pair<std::uint64_t, std::uint64_t>;

// Two FNV-1a hashes with different offsets: 128 bits, so a collision of two
// texts is not a practical concern.
Key key_of(const std::string &model, const std::string &text) {
    std::uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
    auto mix = [&](unsigned char c) {
        a = (a ^ c) * 0x100000001b3ull;
        b = (b ^ c) * 0x100000001b3ull;
        b ^= b >> 29;
    };
    for (char c : model) mix(static_cast<unsigned char>(c));
    mix(0x1f);
    for (char c : text) mix(static_cast<unsigned char>(c));
    return {a, b};
}

constexpr std::size_t max_bytes = 64u << 20;
constexpr std::uint32_t max_dims = 65536;
// The file: the magic, then records of key (2 x u64), dims (u32), the
// floats, and the checksum64 (u64) of all of that; native byte order.
constexpr char magic[8] = {'C', 'O', 'E', 'E', 'M', 'B', '2', '\n'};
constexpr std::size_t record_head = 8 + 8 + 4;

// Calls f(key, vector) for each good record of `bytes` in order; returns
// "" when all of them were good, else what stopped the reading.
template <class F>
std::string parse_records(std::string_view bytes, F &&f) {
    if (bytes.size() < 8 || std::memcmp(bytes.data(), magic, 8) != 0) return "not an embedding cache file (magic)";
    std::size_t at = 8;
    while (at < bytes.size()) {
        if (bytes.size() - at < record_head) return "a truncated record at byte " + std::to_string(at);
        Key k;
        std::uint32_t dims = 0;
        std::memcpy(&k.first, bytes.data() + at, 8);
        std::memcpy(&k.second, bytes.data() + at + 8, 8);
        std::memcpy(&dims, bytes.data() + at + 16, 4);
        if (dims == 0 || dims > max_dims)
            return "a record of " + std::to_string(dims) + " dimensions at byte " + std::to_string(at);
        const std::size_t body = record_head + std::size_t{dims} * sizeof(float);
        if (bytes.size() - at < body + 8) return "a truncated record at byte " + std::to_string(at);
        std::uint64_t sum = 0;
        std::memcpy(&sum, bytes.data() + at + body, 8);
        if (sum != internal::checksum64(bytes.substr(at, body)))
            return "a record whose checksum does not match at byte " + std::to_string(at);
        std::vector<float> v(dims);
        std::memcpy(v.data(), bytes.data() + at + record_head, std::size_t{dims} * sizeof(float));
        f(k, std::move(v));
        at += body + 8;
    }
    return {};
}

std::filesystem::path cache_file() {
    const auto folder = internal::user_cache_folder();
    return folder.empty() ? folder : folder / "embeddings-2.bin";
}

}  // namespace

class EmbeddingCache::Impl {
public:
    std::mutex mutex;
    bool loaded = false;
    internal::CacheFileStamp seen;  // the version of the file last read or written here
    std::map<Key, std::vector<float>> vectors;
    std::deque<Key> order;  // oldest first
    std::size_t bytes = 0;

    void add(const Key &k, std::vector<float> v) {
        if (vectors.count(k)) return;
        bytes += v.size() * sizeof(float);
        vectors.emplace(k, std::move(v));
        order.push_back(k);
        while (bytes > max_bytes && !order.empty()) {
            auto it = vectors.find(order.front());
            bytes -= it->second.size() * sizeof(float);
            vectors.erase(it);
            order.pop_front();
        }
    }
    // Adds what the file holds and this process does not (the good records
    // before any damage; absent or foreign: nothing).
    void merge_file(const std::filesystem::path &path) {
        seen = internal::cache_file_stamp(path);
        const auto content = internal::read_cache_file(path);
        if (!content) return;
        parse_records(*content, [&](const Key &k, std::vector<float> v) { add(k, std::move(v)); });
    }
    void load() {
        loaded = true;
        if (const auto path = cache_file(); !path.empty()) merge_file(path);
    }
    void save(const std::filesystem::path &path) {
        std::string out(magic, 8);
        for (const Key &k : order) {
            const auto &v = vectors.at(k);
            const auto dims = static_cast<std::uint32_t>(v.size());
            const std::size_t start = out.size();
            out.append(reinterpret_cast<const char *>(&k.first), 8);
            out.append(reinterpret_cast<const char *>(&k.second), 8);
            out.append(reinterpret_cast<const char *>(&dims), 4);
            out.append(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(float));
            const std::uint64_t sum = internal::checksum64(std::string_view(out).substr(start));
            out.append(reinterpret_cast<const char *>(&sum), 8);
        }
        if (internal::replace_cache_file(path, out)) seen = internal::cache_file_stamp(path);
        // else: a cache we cannot write is only slower
    }
};

EmbeddingCache::EmbeddingCache() : impl_(new Impl) {}

EmbeddingCache &EmbeddingCache::instance() {
    static auto *cache = new EmbeddingCache();  // used until exit, from any thread
    return *cache;
}

bool EmbeddingCache::find(const std::string &model, const std::string &text, std::vector<float> &out) {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (!impl_->loaded) impl_->load();
    auto it = impl_->vectors.find(key_of(model, text));
    if (it == impl_->vectors.end()) return false;
    out = it->second;
    return true;
}

void EmbeddingCache::store(const std::string &model, const std::vector<std::string> &texts,
                           const std::vector<std::vector<float>> &vectors) {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (!impl_->loaded) impl_->load();
    for (std::size_t i = 0; i < texts.size() && i < vectors.size(); ++i)
        impl_->add(key_of(model, texts[i]), vectors[i]);
    const auto path = cache_file();
    if (path.empty()) return;
    internal::CacheFileLock file_lock(path);
    if (!file_lock.held()) return;  // another process holds it for long: keep ours in memory
    if (internal::cache_file_stamp(path) != impl_->seen) impl_->merge_file(path);  // others wrote meanwhile
    impl_->save(path);
}

std::string EmbeddingCache::check_file(const std::filesystem::path &file) {
    const auto content = internal::read_cache_file(file);
    if (!content) return {};
    return parse_records(*content, [](const Key &, std::vector<float>) {});
}

}  // namespace coe::consult_detail

#include "embedding_cache.hpp"

#include <unistd.h>

#include <cstdint>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>

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
constexpr char magic[8] = {'C', 'O', 'E', 'E', 'M', 'B', '1', '\n'};

}  // namespace

class EmbeddingCache::Impl {
public:
    std::mutex mutex;
    bool loaded = false;
    std::map<Key, std::vector<float>> vectors;
    std::deque<Key> order;  // oldest first
    std::size_t bytes = 0;

    std::filesystem::path file() const {
        const auto folder = internal::user_cache_folder();
        return folder.empty() ? folder : folder / "embeddings-1.bin";
    }
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
    void load() {
        loaded = true;
        const auto path = file();
        if (path.empty()) return;
        std::ifstream in(path, std::ios::binary);
        char m[8];
        if (!in.read(m, 8) || !std::equal(m, m + 8, magic)) return;  // absent or not ours: start afresh
        for (;;) {
            Key k;
            std::uint32_t dim = 0;
            if (!in.read(reinterpret_cast<char *>(&k.first), 8) || !in.read(reinterpret_cast<char *>(&k.second), 8) ||
                !in.read(reinterpret_cast<char *>(&dim), 4) || dim == 0 || dim > 65536)
                break;
            std::vector<float> v(dim);
            if (!in.read(reinterpret_cast<char *>(v.data()), static_cast<std::streamsize>(dim * sizeof(float)))) break;
            add(k, std::move(v));
        }
    }
    void save() const {
        const auto path = file();
        if (path.empty()) return;
        std::error_code ec;
        std::filesystem::create_directories(path.parent_path(), ec);
        const auto tmp = path.string() + "." + std::to_string(::getpid()) + ".tmp";
        {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            out.write(magic, 8);
            for (const Key &k : order) {
                const auto &v = vectors.at(k);
                const auto dim = static_cast<std::uint32_t>(v.size());
                out.write(reinterpret_cast<const char *>(&k.first), 8);
                out.write(reinterpret_cast<const char *>(&k.second), 8);
                out.write(reinterpret_cast<const char *>(&dim), 4);
                out.write(reinterpret_cast<const char *>(v.data()), static_cast<std::streamsize>(dim * sizeof(float)));
            }
            if (!out.flush()) {
                std::filesystem::remove(tmp, ec);
                return;  // a cache we cannot write is only slower
            }
        }
        std::filesystem::rename(tmp, path, ec);
        if (ec) std::filesystem::remove(tmp, ec);
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
    impl_->save();
}

}  // namespace coe::consult_detail

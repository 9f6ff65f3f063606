#include "coe/embedder.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <mutex>
#include <thread>

#include "coe/error.hpp"
#include "embedding/embedding_client.hpp"

namespace coe {

class Embedder::Impl {
public:
    explicit Impl(EmbedderConfig c) : config(std::move(c)), work(boost::asio::make_work_guard(io)) {
        client = std::make_unique<net::CurlMultiClient>(io);
        embedding = std::make_unique<consult_detail::EmbeddingClient>(*client, config);
        thread = std::thread([this] { io.run(); });
    }
    ~Impl() {
        boost::asio::post(io, [this] {
            embedding.reset();
            client.reset();  // on its thread
            work.reset();
            io.stop();
        });
        thread.join();
    }

    EmbedderConfig config;
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
    std::unique_ptr<net::CurlMultiClient> client;
    std::unique_ptr<consult_detail::EmbeddingClient> embedding;
    std::mutex one_at_a_time;
    std::thread thread;
};

Embedder::Embedder(EmbedderConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Embedder::~Embedder() = default;
const EmbedderConfig &Embedder::config() const { return impl_->config; }

std::vector<std::vector<float>> Embedder::embed(const std::vector<std::string> &texts) {
    if (texts.empty()) return {};
    std::lock_guard<std::mutex> lock(impl_->one_at_a_time);
    std::promise<std::pair<std::vector<std::vector<float>>, std::string>> promise;
    auto result = promise.get_future();
    boost::asio::post(impl_->io, [this, &texts, &promise] {
        impl_->embedding->embed(texts, [&promise](std::vector<std::vector<float>> v, std::string error) {
            promise.set_value({std::move(v), std::move(error)});
        });
    });
    auto [vectors, error] = result.get();
    if (!error.empty()) throw Error("embedder " + impl_->config.name + ": " + error);
    return std::move(vectors);
}

void Embedder::embed_panel(Panel &panel) {
    std::vector<std::string> texts;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < panel.responses.size(); ++i)
        if (panel.responses[i].embedding.empty()) {
            texts.push_back(panel.responses[i].content);
            which.push_back(i);
        }
    std::vector<std::vector<float>> vectors = embed(texts);
    for (std::size_t k = 0; k < which.size(); ++k) panel.responses[which[k]].embedding = std::move(vectors[k]);
}

}  // namespace coe

// embedding_client.hpp - the vectors of many texts from one embedder:
// cached ones are not asked again, the rest go in batches of batch_size,
// one request after another, none of them past the caller's deadline.
// Threading: the io_context's thread only (as CurlMultiClient, which it
// uses); `done` is called there, exactly once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "coe/experts.hpp"
#include "http/curl_multi_client.hpp"

namespace coe::consult_detail {

class EmbeddingClient {
public:
    EmbeddingClient(net::CurlMultiClient &client, EmbedderConfig config);
    // `error` is empty on success; it never holds the API key.
    using Done = std::function<void(std::vector<std::vector<float>> vectors, std::string error)>;
    using Deadline = std::chrono::steady_clock::time_point;
    // Every request ends by `deadline` (and by the embedder's timeout_ms);
    // one still out then fails the whole call with an error beginning
    // "timeout:".
    void embed(std::vector<std::string> texts, Done done, Deadline deadline = Deadline::max());
    const EmbedderConfig &config() const { return config_; }

private:
    struct Job;
    void next_batch(const std::shared_ptr<Job> &job);

    net::CurlMultiClient &client_;
    EmbedderConfig config_;
};

}  // namespace coe::consult_detail

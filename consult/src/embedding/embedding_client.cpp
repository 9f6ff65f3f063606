#include "embedding_client.hpp"

#include <cstdlib>

#include "coe/error.hpp"
#include "embedding_cache.hpp"
#include "embedding_wire.hpp"

namespace coe::consult_detail {

struct EmbeddingClient::Job {
    std::vector<std::string> texts;
    std::vector<std::vector<float>> vectors;
    std::vector<std::size_t> missing;  // indices still to ask for
    std::size_t next = 0;              // into missing
    std::string api_key;
    Done done;
    Deadline deadline;
};

EmbeddingClient::EmbeddingClient(net::CurlMultiClient &client, EmbedderConfig config)
    : client_(client), config_(std::move(config)) {}

void EmbeddingClient::embed(std::vector<std::string> texts, Done done, Deadline deadline) {
    auto job = std::make_shared<Job>();
    job->deadline = deadline;
    job->texts = std::move(texts);
    job->vectors.resize(job->texts.size());
    job->done = std::move(done);
    for (std::size_t i = 0; i < job->texts.size(); ++i)
        if (!EmbeddingCache::instance().find(config_.model, job->texts[i], job->vectors[i])) job->missing.push_back(i);
    if (!job->missing.empty() && !config_.api_key_env.empty()) {
        const char *key = std::getenv(config_.api_key_env.c_str());
        if (key == nullptr || *key == '\0') {
            job->done({}, "environment variable " + config_.api_key_env + " (the embedder's api_key_env) is not set");
            return;
        }
        job->api_key = key;
    }
    next_batch(job);
}

void EmbeddingClient::next_batch(const std::shared_ptr<Job> &job) {
    if (job->next >= job->missing.size()) {
        auto done = std::move(job->done);
        done(std::move(job->vectors), {});
        return;
    }
    const std::size_t end = std::min(job->missing.size(), job->next + config_.batch_size);
    std::vector<std::string> batch;
    for (std::size_t k = job->next; k < end; ++k) batch.push_back(job->texts[job->missing[k]]);
    net::HttpLimits limits;
    limits.first_byte_timeout_ms = limits.idle_timeout_ms = limits.total_timeout_ms = config_.timeout_ms;
    bool deadline_bound = false;  // the caller's deadline comes before the embedder's own timeout
    if (job->deadline != Deadline::max()) {
        const double left =
            std::chrono::duration<double, std::milli>(job->deadline - std::chrono::steady_clock::now()).count();
        if (left < 1) {
            auto done = std::move(job->done);
            done({}, "timeout: the consultation's deadline passed before the embeddings arrived");
            return;
        }
        if (config_.timeout_ms <= 0 || left < config_.timeout_ms) {
            limits.total_timeout_ms = left;
            if (limits.first_byte_timeout_ms <= 0 || limits.first_byte_timeout_ms > left)
                limits.first_byte_timeout_ms = left;
            deadline_bound = true;
        }
    }
    limits.max_body_bytes = 256u << 20;
    limits.ca_file = config_.ca_file;
    auto body = std::make_shared<std::string>();
    net::HttpCallbacks cb;
    cb.on_body = [body](std::string_view piece, std::string &) {
        body->append(piece);
        return true;
    };
    cb.on_done = [this, job, body, batch, end, deadline_bound](net::HttpResult r) {
        auto fail = [&](std::string why) {
            if (!job->api_key.empty())  // never let the key out, whatever the server echoed
                for (std::size_t p = why.find(job->api_key); p != std::string::npos; p = why.find(job->api_key, p))
                    why.replace(p, job->api_key.size(), "[redacted]");
            auto done = std::move(job->done);
            done({}, std::move(why));
        };
        if (r.failure == "timeout" && deadline_bound)
            return fail("timeout: no embeddings before the consultation's deadline (" + r.message + ")");
        if (!r.failure.empty()) return fail(r.failure + ": " + r.message);
        if (r.head.status != 200) return fail("HTTP " + std::to_string(r.head.status) + ": " + body->substr(0, 300));
        std::vector<std::vector<float>> vectors;
        try {
            vectors = parse_embeddings(config_, *body, batch.size());
        } catch (const Error &e) {
            return fail(std::string("malformed response: ") + e.what());
        }
        if (!job->vectors.empty() && job->next > 0) {
            const auto &first = job->vectors[job->missing[0]];
            if (!first.empty() && first.size() != vectors.front().size())
                return fail("batches of different dimensions");
        }
        EmbeddingCache::instance().store(config_.model, batch, vectors);
        for (std::size_t k = job->next; k < end; ++k) job->vectors[job->missing[k]] = std::move(vectors[k - job->next]);
        job->next = end;
        next_batch(job);
    };
    client_.start(embeddings_request(config_, batch, job->api_key), limits, std::move(cb));
}

}  // namespace coe::consult_detail
